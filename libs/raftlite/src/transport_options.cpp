// raftlite — peer addresses: parsing and printing "host:port".
#include <raftlite/transport_options.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ostream>

namespace raftlite {

std::string endpoint_address::to_string() const {
    if (host.find(':') != std::string::npos)
        return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::ostream& operator<<(std::ostream& os, const endpoint_address& a) {
    return os << a.to_string();
}

std::optional<endpoint_address> endpoint_address::parse(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        // An unbracketed IPv6 address is ambiguous ("::1:7101").
        if (host.find(':') != std::string_view::npos)
            return std::nullopt;
    }
    auto invalid_char = [](unsigned char ch) {
        return std::isspace(ch) || ch == '/' || ch == '[' || ch == ']' || ch < 0x20;
    };
    if (host.empty() || std::any_of(host.begin(), host.end(), invalid_char))
        return std::nullopt;
    // Digits only (from_chars takes no sign for an unsigned type).
    std::uint32_t p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
        return std::nullopt;
    return endpoint_address{std::string(host), static_cast<std::uint16_t>(p)};
}

} // namespace raftlite
