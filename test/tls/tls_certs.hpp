// Certificates for the TLS tests, made at run time: conf/tls/make-certs.sh
// (openssl) writes a CA, node-1..4, a rogue CA and a rogue node-3 into a
// fresh temporary directory, once per test program; it is removed at exit.
// No key is ever committed.
#ifndef RAFTLITE_TEST_TLS_CERTS_HPP
#define RAFTLITE_TEST_TLS_CERTS_HPP

#include <raftlite/transport_options.hpp>

#include <filesystem>
#include <string>

namespace raftlite::test {

class test_certs {
public:
    /// Makes the certificates on first use (fails the test when it cannot).
    static const test_certs& get();

    std::filesystem::path dir;         ///< the certificates
    std::filesystem::path repo_root;   ///< where conf/tls/make-certs.sh was found

    std::string file(const std::string& name) const { return (dir / name).string(); }

    /// TLS options presenting `<name>.pem` / `<name>.key` and trusting `ca`
    /// ("ca.pem": the cluster CA; "rogue-ca.pem"; "both-cas.pem": either).
    tls_options tls(const std::string& name, const std::string& ca = "ca.pem") const {
        return {true, file(ca), file(name + ".pem"), file(name + ".key")};
    }

    test_certs();
    ~test_certs();
    test_certs(const test_certs&) = delete;
    test_certs& operator=(const test_certs&) = delete;
};

} // namespace raftlite::test

#endif
