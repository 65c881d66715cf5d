// Fuzz target: a peer's config file (config.hpp).
//
// parse_config must either succeed or throw config_error with a message;
// any other exception, a crash or a sanitizer report is a finding. A parsed
// config must also hold what the parser promises (self among the peers,
// election timeouts ordered, an absolute data_dir).
//
// max_len: 4096 (a full config file; ./run fuzz reads this line)
#include "fuzz_check.hpp"

#include <raftlite/config.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        auto cfg = raftlite::parse_config(text, "/fuzz/conf/peer.ini");
        const auto& o = cfg.node;
        RAFTLITE_FUZZ_CHECK(o.core.self != raftlite::no_node, "parsed a config without a node id");
        RAFTLITE_FUZZ_CHECK(o.transport.peers.count(o.core.self) == 1, "self is not among the peers");
        RAFTLITE_FUZZ_CHECK(o.core.members.size() == o.transport.peers.size(),
                            "members and peer addresses differ");
        RAFTLITE_FUZZ_CHECK(cfg.data_dir.is_absolute(), "data_dir is not absolute");
        RAFTLITE_FUZZ_CHECK(o.election_timeout_min <= o.election_timeout_max,
                            "election timeouts out of order");
        RAFTLITE_FUZZ_CHECK(o.transport.reconnect_min <= o.transport.reconnect_max,
                            "reconnect backoff out of order");
        RAFTLITE_FUZZ_CHECK(o.transport.max_frame_bytes > o.core.max_batch_bytes,
                            "frame limit not above the batch size");
    } catch (const raftlite::config_error& e) {
        RAFTLITE_FUZZ_CHECK(*e.what() != '\0', "config_error without a message");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "parse_config threw something other than config_error: %s\n",
                     e.what());
        std::abort();
    }
    return 0;
}
