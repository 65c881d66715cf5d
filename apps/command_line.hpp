// The command line of every raftlite program, parsed the same way.
//
// `--help` prints the options and `--version` the program's name and
// raftlite's version ("raftlite-kv 0.2.1"); either ends the program with
// status 0, even when a required option is missing. An unknown option, a bad
// value or a missing required option prints "<program>: <what is wrong>" and
// the options on standard error and ends it with status 2. Header-only: each program is its
// own translation unit and links Boost.Program_options already.
#ifndef RAFTLITE_APPS_COMMAND_LINE_HPP
#define RAFTLITE_APPS_COMMAND_LINE_HPP

#include <raftlite/version.hpp>

#include <boost/program_options.hpp>

#include <exception>
#include <iostream>
#include <optional>
#include <string_view>

namespace raftlite::apps {

/// The two options every program has, first in its list.
inline void add_standard_options(boost::program_options::options_description& desc) {
    desc.add_options()("help,h", "this help")("version", "print the version and exit");
}

/// Parses argv into `vm` (and the variables `desc` binds), with `positional`
/// when the program takes arguments after its options. Returns the status
/// main() should end with, or nullopt when the program goes on.
inline std::optional<int> parse_command_line(
    std::string_view program, int argc, char** argv, const boost::program_options::options_description& desc,
    boost::program_options::variables_map& vm,
    const boost::program_options::positional_options_description* positional = nullptr) {
    namespace po = boost::program_options;
    try {
        po::command_line_parser parser(argc, argv);
        parser.options(desc);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            std::cout << desc << "\n";
            return 0;
        }
        if (vm.count("version")) {
            std::cout << program << " " << raftlite::version() << "\n";
            return 0;
        }
        po::notify(vm);
    } catch (const std::exception& e) {
        std::cerr << program << ": " << e.what() << "\n" << desc << "\n";
        return 2;
    }
    return std::nullopt;
}

} // namespace raftlite::apps

#endif
