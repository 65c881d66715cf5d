#!/usr/bin/env bash
# Makes a throw-away certificate authority and certificates for a TLS cluster
# (conf/tls/n1.ini .. n3.ini) with openssl. FOR TESTS AND DEMOS ONLY: the keys
# are unencrypted files, valid for DAYS days (default 365).
#
#   conf/tls/make-certs.sh [output-directory]     (default: data/tls, git-ignored)
#
# What it makes (PEM; *.key are private keys, mode 600 in a mode 700 directory):
#   ca.pem ca.key                the cluster CA; every peer trusts only it
#   node-1.pem/.key .. node-3    peer certificates: a node is named by the DNS
#                                subjectAltName "node-<id>" (also the CN), for
#                                both TLS roles (serverAuth + clientAuth)
#   kv-server.pem/.key           raftlite-kv's HTTPS certificate: localhost, 127.0.0.1
#   kvctl.pem/.key               a client certificate for kvctl ([kv] client_ca)
#   rogue-ca.pem/.key            another CA, and a certificate it signed that
#   rogue-node-3.pem/.key        claims to be node 3: peers must refuse it
# Existing files are replaced. Never commit the keys.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../data/tls}
days=${DAYS:-365}
nodes=${NODES:-3}

command -v openssl >/dev/null || { echo "make-certs.sh: openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
umask 077

# new_key <name>: an EC P-256 key (fast to make, and to handshake with).
new_key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null
}

# make_ca <name> <common name>
make_ca() {
    new_key "$1"
    openssl req -x509 -new -key "$1.key" -out "$1.pem" -days "$days" -subj "/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_cert <name> <ca name> <common name> <subjectAltName> <extendedKeyUsage>
make_cert() {
    local name=$1 ca=$2 cn=$3 san=$4 eku=$5
    new_key "$name"
    openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=$eku" "subjectAltName=$san" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -days "$days" -extfile "$name.ext" \
        -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
}

make_ca ca "raftlite test CA"
for i in $(seq 1 "$nodes"); do
    make_cert "node-$i" ca "node-$i" "DNS:node-$i" "serverAuth,clientAuth"
done
make_cert kv-server ca "localhost" "DNS:localhost,IP:127.0.0.1" "serverAuth"
make_cert kvctl ca "kvctl" "DNS:kvctl" "clientAuth"
make_ca rogue-ca "rogue CA"
make_cert rogue-node-3 rogue-ca "node-3" "DNS:node-3" "serverAuth,clientAuth"
# Certificates are public; keys stay private (umask 077 above).
chmod 644 ./*.pem

echo "make-certs.sh: certificates in $(pwd)"
