// raftlite simulator — one-line descriptions of messages for traces.
#ifndef RAFTLITE_SIM_DESCRIBE_HPP
#define RAFTLITE_SIM_DESCRIBE_HPP

#include <raftlite/messages.hpp>

#include <cstddef>

namespace raftlite::sim {

/// Writes "vote_request{t3 len5/2}" and the like into buf (always terminated).
void describe(const message& m, char* buf, std::size_t size);

} // namespace raftlite::sim

#endif
