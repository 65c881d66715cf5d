// raftlite — snapshot_sink and snapshot_source (see snapshot.hpp).
#include <raftlite/snapshot.hpp>

#include <raftlite/error.hpp>
#include <raftlite/persister.hpp>

#include <algorithm>
#include <cerrno>

namespace raftlite {

using boost::system::error_code;

snapshot_sink::snapshot_sink(index_t index, term_t term, std::unique_ptr<snapshot_writer> writer, done_function done)
    : index_(index), term_(term), writer_(std::move(writer)), done_(std::move(done)) {}

snapshot_sink::snapshot_sink(snapshot_sink&&) noexcept = default;
snapshot_sink& snapshot_sink::operator=(snapshot_sink&& o) noexcept {
    if (this != &o) {
        if (writer_) finish(error_code(ECANCELED, boost::system::system_category()));
        index_ = o.index_;
        term_ = o.term_;
        writer_ = std::move(o.writer_);
        done_ = std::move(o.done_);
    }
    return *this;
}

snapshot_sink::~snapshot_sink() {
    if (writer_) finish(error_code(ECANCELED, boost::system::system_category()));
}

error_code snapshot_sink::write(std::string_view data) {
    if (!writer_) return errc::stopped;
    return writer_->write(data);
}

error_code snapshot_sink::finish(error_code ec) {
    if (!writer_) return errc::stopped;
    std::unique_ptr<snapshot_writer> w = std::move(writer_);
    snapshot_meta meta;
    if (ec) w->abandon();
    else ec = w->finish(meta);
    if (done_) {
        auto done = std::move(done_);
        done(meta, ec);
    }
    return ec;
}

error_code snapshot_source::read(std::string& out, std::size_t max) {
    out.clear();
    if (offset_ >= meta_.size || max == 0) return {};
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max, meta_.size - offset_));
    if (auto ec = storage_->read_snapshot(meta_, offset_, n, out)) return ec;
    if (out.size() != n) return errc::corrupt_data;
    offset_ += n;
    return {};
}

error_code snapshot_source::read_all(std::string& out) {
    out.clear();
    std::string chunk;
    out.reserve(static_cast<std::size_t>(meta_.size - std::min(offset_, meta_.size)));
    for (;;) {
        if (auto ec = read(chunk)) return ec;
        if (chunk.empty()) return {};
        out += chunk;
    }
}

} // namespace raftlite
