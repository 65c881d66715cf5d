// Fuzz target: the kv app's HTTP requests (apps/kv/http_routes.hpp).
//
// The input is what a client sends on one connection. It goes through a
// Beast request parser with the server's default limits (http_server_options:
// 1 MiB body, 8 KiB header), request after request as on a keep-alive
// connection, and every complete request through route_request, the mapping
// the server uses. A command that comes out must be valid and survive its
// Raft encoding; an error must be a 4xx with a token. Parse errors end the
// connection, as in the server.
//
// max_len: 16384 (an HTTP request over the 8 KiB header limit; ./run fuzz reads this line)
#include "fuzz_check.hpp"

#include "http_routes.hpp"
#include "http_server.hpp"
#include "kv_command.hpp"

#include <raftlite/transport_options.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <variant>

namespace http = boost::beast::http;
using namespace raftlite::kv;

namespace {

void check_route(route& r) {
    if (auto* cmd = std::get_if<kv_command>(&r)) {
        RAFTLITE_FUZZ_CHECK(validate(*cmd).empty(), "route_request returned an invalid command");
        const std::string bytes = encode(*cmd);
        std::string why;
        auto back = try_decode(bytes, why);
        RAFTLITE_FUZZ_CHECK(back && *back == *cmd, "command does not survive its encoding");
    } else if (auto* s = std::get_if<stale_read_route>(&r)) {
        RAFTLITE_FUZZ_CHECK(!s->key.empty() && s->key.size() <= max_key_bytes, "stale read of an invalid key");
    } else if (auto* range = std::get_if<range_route>(&r)) {
        const kv_range_query& q = range->query;
        RAFTLITE_FUZZ_CHECK(q.limit >= 1 && q.limit <= max_range_limit && q.max_bytes == max_range_bytes,
                            "range read beyond its limits");
        RAFTLITE_FUZZ_CHECK(q.from.size() <= max_key_bytes && (!q.to || q.to->size() <= max_key_bytes),
                            "range read with a bound over max_key_bytes");
    } else if (auto* a = std::get_if<admin_route>(&r)) {
        RAFTLITE_FUZZ_CHECK(a->what == admin_route::action::list || a->id != 0, "membership change of id 0");
        if (a->what == admin_route::action::add_learner)
            RAFTLITE_FUZZ_CHECK(raftlite::endpoint_address::parse(a->raft) && raftlite::endpoint_address::parse(a->kv) &&
                                    a->raft != a->kv,
                                "add_learner with an invalid address");
    } else if (auto* e = std::get_if<route_error>(&r)) {
        const unsigned code = static_cast<unsigned>(e->status);
        RAFTLITE_FUZZ_CHECK(code >= 400 && code < 500, "error route is not a 4xx");
        RAFTLITE_FUZZ_CHECK(!e->token.empty() && !e->message.empty(), "error without token");
        RAFTLITE_FUZZ_CHECK(code != 405 || !e->allow.empty(), "405 without Allow");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const http_server_options defaults;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // Bounded: every request consumes at least one byte.
    while (!in.empty()) {
        http::request_parser<http::string_body> parser;
        parser.eager(true);
        parser.body_limit(defaults.body_limit);
        parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
            defaults.header_limit, std::numeric_limits<std::uint32_t>::max())));
        boost::beast::error_code ec;
        std::size_t used = 0;
        while (!parser.is_done() && used < in.size()) {
            const std::size_t n = parser.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
            used += n;
            if (ec == http::error::need_more) {
                // Beast has seen every byte left and wants more. Its read
                // loop, the server's, reads from the socket before it calls
                // put again; putting the same bytes again breaks Beast's
                // contract (and trips an assertion in its chunk parser). Here
                // the input is all there is: the client closed.
                ec = {};
                break;
            }
            if (ec)
                return 0;   // the server answers 400/413/431 or closes
        }
        if (!parser.is_done()) {
            parser.put_eof(ec);   // the client closed: a body read to the end is complete
            if (ec || !parser.is_done())
                return 0;
        }
        RAFTLITE_FUZZ_CHECK(used > 0 || in.empty(), "a request consumed no bytes");
        auto req = parser.release();
        RAFTLITE_FUZZ_CHECK(req.body().size() <= defaults.body_limit, "body over the limit");
        auto r = route_request(req);
        check_route(r);
        if (used == 0)
            break;
        in.remove_prefix(used);
    }
    return 0;
}
