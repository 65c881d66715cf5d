// raftlite kv — the snapshot format (see kv_snapshot.hpp).
#include "kv_snapshot.hpp"

#include <cstring>
#include <limits>

namespace raftlite::kv {

namespace {

constexpr std::string_view magic = "RLKVSNAP";
// Before client sessions: read, never written.
constexpr std::uint32_t format_version_1 = 1;

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Pulls bytes from the reader as the decoder needs them; keeps at most what
// one field needs beyond a piece. `offset` is where the next byte sits in the
// snapshot, for messages.
class byte_source {
public:
    explicit byte_source(const snapshot_reader_fn& read) : read_(read) {}

    std::uint64_t offset() const noexcept { return consumed_; }

    // The next n bytes, or a throw naming the field when the input ends first.
    std::string_view take(std::size_t n, const char* what) {
        while (buf_.size() - pos_ < n && !ended_) {
            if (pos_ > 0) {
                buf_.erase(0, pos_);
                pos_ = 0;
            }
            const std::size_t before = buf_.size();
            read_(buf_);
            if (buf_.size() == before) ended_ = true;
        }
        if (buf_.size() - pos_ < n)
            throw bad_snapshot("truncated snapshot: " + std::string(what) + " at byte " + std::to_string(consumed_) +
                               " needs " + std::to_string(n) + " bytes, " + std::to_string(buf_.size() - pos_) +
                               " left");
        std::string_view v(buf_.data() + pos_, n);
        pos_ += n;
        consumed_ += n;
        return v;
    }

    std::uint32_t u32(const char* what) {
        auto b = take(4, what);
        std::uint32_t v = 0;
        for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
        return v;
    }
    std::uint64_t u64(const char* what) {
        auto b = take(8, what);
        std::uint64_t v = 0;
        for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[i]);
        return v;
    }

    bool at_end() {
        if (buf_.size() > pos_) return false;
        while (!ended_ && buf_.size() == pos_) {
            buf_.clear();
            pos_ = 0;
            read_(buf_);
            if (buf_.empty()) ended_ = true;
        }
        return buf_.size() == pos_;
    }

private:
    const snapshot_reader_fn& read_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::uint64_t consumed_ = 0;
    bool ended_ = false;
};

} // namespace

void write_snapshot(const kv_image& image, const snapshot_writer_fn& write, std::size_t piece_bytes) {
    std::string buf;
    buf.reserve(piece_bytes + 64);
    buf.append(magic);
    put_u32(buf, snapshot_format_version);
    put_u64(buf, image.applied());
    put_u64(buf, image.size());
    std::uint64_t written = 0;
    image.for_each([&](const std::string& k, const std::string& v) {
        put_u32(buf, static_cast<std::uint32_t>(k.size()));
        buf += k;
        put_u32(buf, static_cast<std::uint32_t>(v.size()));
        buf += v;
        ++written;
        if (buf.size() >= piece_bytes) {
            write(buf);
            buf.clear();
        }
    });
    // The image is immutable: a mismatch is a bug in kv_store, never input.
    if (written != image.size()) throw std::logic_error("kv_image size does not match its entries");
    put_u64(buf, image.entries_digest());
    std::string sessions;
    image.sessions().encode(sessions);
    put_u64(buf, sessions.size());
    buf += sessions;
    write(buf);
}

std::string encode_snapshot(const kv_image& image) {
    std::string out;
    write_snapshot(image, [&](std::string_view piece) { out += piece; });
    return out;
}

kv_store read_snapshot(const snapshot_reader_fn& read, session_limits limits) {
    byte_source in(read);
    if (in.take(magic.size(), "the magic") != magic)
        throw bad_snapshot("not a raftlite-kv snapshot (the first 8 bytes are not \"RLKVSNAP\")");
    const std::uint32_t version = in.u32("the version");
    if (version != snapshot_format_version && version != format_version_1)
        throw bad_snapshot("unsupported raftlite-kv snapshot format version " + std::to_string(version) +
                           " (this program reads versions " + std::to_string(format_version_1) + " and " +
                           std::to_string(snapshot_format_version) + ")");
    kv_store store(limits);
    store.set_applied(in.u64("the applied count"));
    const std::uint64_t count = in.u64("the entry count");
    // `count` is not trusted for any allocation: entries are read one by one
    // and the input runs out long before a forged count could matter.
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t at = in.offset();
        const std::uint32_t klen = in.u32("a key length");
        if (klen == 0 || klen > max_key_bytes)
            throw bad_snapshot("entry " + std::to_string(i) + " at byte " + std::to_string(at) + ": key length " +
                               std::to_string(klen) + " outside 1.." + std::to_string(max_key_bytes));
        std::string key(in.take(klen, "a key"));
        const std::uint32_t vlen = in.u32("a value length");
        if (vlen > max_value_bytes)
            throw bad_snapshot("entry " + std::to_string(i) + " at byte " + std::to_string(at) + ": value length " +
                               std::to_string(vlen) + " over " + std::to_string(max_value_bytes));
        std::string value(in.take(vlen, "a value"));
        if (!store.load_entry(std::move(key), std::move(value)))
            throw bad_snapshot("entry " + std::to_string(i) + " at byte " + std::to_string(at) +
                               ": a key that came before");
    }
    const std::uint64_t digest = in.u64("the digest");
    if (digest != store.entries_digest())
        throw bad_snapshot("the entries do not match the snapshot's digest");
    if (version != format_version_1) {
        const std::uint64_t at = in.offset();
        const std::uint64_t length = in.u64("the session table length");
        // take() holds at most what the input has: a forged length fails as
        // truncated without allocating it.
        if (length > std::numeric_limits<std::size_t>::max())
            throw bad_snapshot("session table length " + std::to_string(length) + " at byte " + std::to_string(at));
        try {
            store.set_sessions(client_sessions::decode(in.take(static_cast<std::size_t>(length), "the session table"),
                                                       limits));
        } catch (const bad_client_sessions& e) {
            throw bad_snapshot("the session table at byte " + std::to_string(at + 8) + ": " + e.what());
        }
    }
    if (!in.at_end())
        throw bad_snapshot("unexpected bytes after the " + std::string(version == format_version_1 ? "digest" : "session table") +
                           ", at byte " + std::to_string(in.offset()));
    return store;
}

kv_store decode_snapshot(std::string_view bytes, session_limits limits) {
    bool given = false;
    return read_snapshot(
        [&](std::string& out) {
            if (!given) out.append(bytes);
            given = true;
        },
        limits);
}

} // namespace raftlite::kv
