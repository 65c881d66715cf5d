// raftlite — the application's side of snapshots (Raft §7; thesis §5).
//
// The node asks for a snapshot once enough entries were applied since the
// last one (node_options::snapshot_entries / snapshot_bytes) or when asked
// (node::async_snapshot): it calls the application's snapshot handler right
// after delivering the entry the snapshot is to cover. The handler captures
// its state there (a frozen copy, a copy-on-write reference) and writes it to
// the snapshot_sink on any thread, while deliveries go on; sink.finish()
// seals it durably and hands it back to the node, which then drops the log
// prefix the snapshot covers. At a restart, and when a leader sends its
// snapshot, the restore handler reads one back through a snapshot_source.
#ifndef RAFTLITE_SNAPSHOT_HPP
#define RAFTLITE_SNAPSHOT_HPP

#include <raftlite/types.hpp>

#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace raftlite {

class persister;
class snapshot_writer;

/// Where the application writes one snapshot. Move-only; use it from one
/// thread at a time, any thread. Dropping it unfinished abandons the snapshot.
class snapshot_sink {
public:
    using done_function = std::function<void(const snapshot_meta&, boost::system::error_code)>;

    snapshot_sink(index_t index, term_t term, std::unique_ptr<snapshot_writer> writer, done_function done);
    snapshot_sink(snapshot_sink&&) noexcept;
    snapshot_sink& operator=(snapshot_sink&&) noexcept;
    ~snapshot_sink();

    /// The last entry the snapshot covers, and its term.
    index_t index() const noexcept { return index_; }
    term_t term() const noexcept { return term_; }

    /// Appends data (buffered: nothing is durable before finish()).
    boost::system::error_code write(std::string_view data);
    /// Seals the snapshot durably (fsync and rename: call it off the node's
    /// strand) and hands it to the node. With an error, the application gave
    /// up: the snapshot is abandoned and asked for again later. Returns the
    /// outcome the node is told.
    boost::system::error_code finish(boost::system::error_code ec = {});

private:
    index_t index_ = 0;
    term_t term_ = 0;
    std::unique_ptr<snapshot_writer> writer_;
    done_function done_;
};

/// Reads one stored snapshot back, in order.
class snapshot_source {
public:
    snapshot_source(const persister& storage, snapshot_meta meta) : storage_(&storage), meta_(std::move(meta)) {}

    const snapshot_meta& meta() const noexcept { return meta_; }
    /// The next up to `max` bytes into `out`; empty at the end.
    boost::system::error_code read(std::string& out, std::size_t max = std::size_t(1) << 20);
    /// Everything left, at once.
    boost::system::error_code read_all(std::string& out);

private:
    const persister* storage_;
    snapshot_meta meta_;
    std::uint64_t offset_ = 0;
};

} // namespace raftlite

#endif
