// raftlite — the version compiled into the library (see version.hpp).
#include <raftlite/version.hpp>

namespace raftlite {

const char* version() noexcept { return RAFTLITE_VERSION_STRING; }

} // namespace raftlite
