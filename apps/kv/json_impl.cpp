// raftlite kv — the one translation unit that compiles Boost.JSON.
//
// Debian bookworm's Boost 1.81 packages (libboost1.81-all-dev) ship Boost.JSON's
// headers but not libboost_json, so the library is built header-only here.
// Link this file exactly once into a program that uses Boost.JSON (another
// copy of <boost/json/src.hpp> in the same program would define its symbols twice).
#include <boost/json/src.hpp>
