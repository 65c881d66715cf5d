// raftlite — TLS for peer connections: the context and certificate checks.
#include "detail/peer_stream.hpp"

#include <boost/system/system_error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace raftlite::detail {

namespace ssl = boost::asio::ssl;

namespace {

[[noreturn]] void fail(const boost::system::error_code& ec, const std::string& what,
                       const std::string& file) {
    throw boost::system::system_error(ec, "raftlite transport: TLS: cannot use " + what + " '" + file + "'");
}

struct x509_deleter {
    void operator()(X509* x) const noexcept { X509_free(x); }
};

std::unique_ptr<X509, x509_deleter> peer_certificate(peer_stream& s) {
    SSL* ssl = s.native_handle();
    if (!ssl)
        return nullptr;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    return std::unique_ptr<X509, x509_deleter>(SSL_get1_peer_certificate(ssl));
#else
    return std::unique_ptr<X509, x509_deleter>(SSL_get_peer_certificate(ssl));
#endif
}

// The DNS subjectAltNames, or the subject CN when there are none (the same
// rule X509_check_host applies), comma-separated.
std::string certificate_names(X509* cert) {
    std::string out;
    auto add = [&](const unsigned char* data, int len) {
        if (!out.empty())
            out += ", ";
        out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
    };
    if (auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
            if (n->type == GEN_DNS)
                add(ASN1_STRING_get0_data(n->d.dNSName), ASN1_STRING_length(n->d.dNSName));
        }
        GENERAL_NAMES_free(sans);
    }
    if (out.empty()) {
        X509_NAME* subject = X509_get_subject_name(cert);
        int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
        if (i >= 0) {
            ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
            out = "CN=";
            out.append(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                       static_cast<std::size_t>(ASN1_STRING_length(cn)));
        }
    }
    return out.empty() ? "no name" : out;
}

} // namespace

std::unique_ptr<ssl::context> make_tls_context(const tls_options& o) {
    // One context serves both roles: servers for inbound, clients for outbound.
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls);
    SSL_CTX* native = ctx->native_handle();
    // TLS 1.2 is the oldest version without known protocol weaknesses.
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    // Peers keep long-lived connections: session resumption would only add
    // tickets on the wire (and data on a connection the client never reads).
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
#if OPENSSL_VERSION_NUMBER >= 0x10101000L
    SSL_CTX_set_num_tickets(native, 0);
#endif
    boost::system::error_code ec;
    ctx->load_verify_file(o.ca_file, ec);
    if (ec)
        fail(ec, "the CA file", o.ca_file);
    ctx->use_certificate_chain_file(o.cert_file, ec);
    if (ec)
        fail(ec, "the certificate file", o.cert_file);
    ctx->use_private_key_file(o.key_file, ssl::context::pem, ec);
    if (ec)
        fail(ec, "the private key file", o.key_file);
    if (SSL_CTX_check_private_key(native) != 1)
        fail(boost::system::error_code(static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category()),
             "the private key (it does not match the certificate)", o.key_file);
    // Both directions: a server demands a client certificate, a client
    // verifies the server's (fail_if_no_peer_cert only matters to servers).
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    return ctx;
}

bool peer_certificate_names(peer_stream& s, node_id id, std::string& names) {
    auto cert = peer_certificate(s);
    if (!cert) {
        names = "no certificate";
        return false;
    }
    const std::string want = tls_node_name(id);
    // No wildcards and no partial labels: "node-1" names node 1 only.
    const bool ok = X509_check_host(cert.get(), want.data(), want.size(),
                                    X509_CHECK_FLAG_NO_WILDCARDS | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                                    nullptr) == 1;
    names = certificate_names(cert.get());
    return ok;
}

std::string tls_verify_detail(peer_stream& s) {
    if (SSL* ssl = s.native_handle()) {
        const long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK)
            return std::string(" (certificate: ") + X509_verify_cert_error_string(v) + ")";
    }
    return {};
}

} // namespace raftlite::detail
