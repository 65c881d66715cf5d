// raftlite kv — the status page served at GET /: one self-contained HTML
// document (inline CSS and script, nothing fetched from elsewhere) that shows
// the cluster as the contacted peer sees it, refreshed from /status and
// /metrics.
//
// Element ids the page fills (tests and scripts may rely on them):
//   self, role, term, leader, commit, applied, last-index   the peer's own view
//   snapshot-index, log-start, log-entries, snapshots, digest   its snapshot,
//                the log it holds, and its state's digest
//   members      a <tbody>: one <tr class="member" data-id data-role> per member
//   leader-changes  an <ol> of the recent leaders learned of, newest first
//   broadcasts   a <tbody> of broadcast outcomes (from /metrics)
//   updated, error  when the page last refreshed, and why it could not
#ifndef RAFTLITE_KV_STATUS_PAGE_HPP
#define RAFTLITE_KV_STATUS_PAGE_HPP

#include <string_view>

namespace raftlite::kv {

std::string_view status_page_html() noexcept;

} // namespace raftlite::kv

#endif
