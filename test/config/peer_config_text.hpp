// A peer's config file for tests of its sections: the smallest valid text
// (two peers), and the message a parse of it fails with.
#ifndef RAFTLITE_TEST_PEER_CONFIG_TEXT_HPP
#define RAFTLITE_TEST_PEER_CONFIG_TEXT_HPP

#include <raftlite/config.hpp>

#include <string>

namespace raftlite::test {

/// [cluster], [node] and [peers] of node 1 of two; a test appends the
/// section it is about.
inline const std::string two_peer_config = R"([cluster]
id = c
[node]
id = 1
listen = 127.0.0.1:7101
data_dir = data/n1
[peers]
1 = 127.0.0.1:7101
2 = 127.0.0.1:7102
)";

/// The config_error `parse()` throws, as its message; empty when it parses.
template <class Parse>
std::string config_error_of(Parse&& parse) {
    try {
        parse();
    } catch (const config_error& e) {
        return e.what();
    }
    return {};
}

} // namespace raftlite::test

#endif
