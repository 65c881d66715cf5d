// raftlite kv — the status page (see status_page.hpp).
#include "status_page.hpp"

namespace raftlite::kv {

namespace {

// Values reach the page only through textContent, never innerHTML, so no
// server value is ever parsed as markup.
constexpr std::string_view page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>raftlite-kv status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.05em; margin-top: 1.5em; }
table { border-collapse: collapse; }
th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr[data-role="leader"] td { font-weight: bold; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { color: #666; } dd { margin: 0; }
#error { color: #b00; } #updated { color: #666; }
</style>
</head>
<body>
<h1>raftlite-kv: the cluster as <span id="self">?</span> sees it</h1>
<dl>
<dt>health</dt><dd id="health">?</dd>
<dt>role</dt><dd id="role">?</dd>
<dt>term</dt><dd id="term">?</dd>
<dt>leader</dt><dd id="leader">?</dd>
<dt>commit index</dt><dd id="commit">?</dd>
<dt>applied index</dt><dd id="applied">?</dd>
<dt>last log index</dt><dd id="last-index">?</dd>
<dt>snapshot index</dt><dd id="snapshot-index">?</dd>
<dt>log start</dt><dd id="log-start">?</dd>
<dt>entries held</dt><dd id="log-entries">?</dd>
<dt>snapshots taken / installed</dt><dd id="snapshots">?</dd>
<dt>keys</dt><dd id="keys">?</dd>
<dt>watches waiting</dt><dd id="watches">?</dd>
<dt>feature level (cluster / reported here)</dt><dd id="level">?</dd>
<dt>state bytes / quota</dt><dd id="space">?</dd>
<dt>state digest</dt><dd id="digest">?</dd>
<dt>version</dt><dd id="version">?</dd>
</dl>
<h2>Members</h2>
<table>
<thead><tr><th>member</th><th>role</th><th>connected</th><th>match index</th><th>lag</th></tr></thead>
<tbody id="members"></tbody>
</table>
<p><small>Roles and lag as this peer knows them: only a leader knows its followers' progress. A learner receives the log but does not vote.</small></p>
<h2>Recent leader changes</h2>
<ol id="leader-changes" reversed></ol>
<h2>Broadcasts by outcome</h2>
<table><tbody id="broadcasts"></tbody></table>
<p><span id="updated"></span> <span id="error"></span></p>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const cell = (row, text) => { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); };

function showStatus(s) {
  $("self").textContent = "n" + s.id;
  $("role").textContent = s.role;
  $("term").textContent = s.term;
  $("leader").textContent = s.leader ? "n" + s.leader : "none known";
  $("commit").textContent = s.commit_index;
  $("applied").textContent = s.applied_index;
  $("last-index").textContent = s.last_log_index;
  // Absent from peers older than snapshots: shown as "-".
  const or = (v) => v === undefined ? "-" : v;
  $("snapshot-index").textContent = s.snapshot_index ? s.snapshot_index : s.snapshot_index === 0 ? "none" : "-";
  $("log-start").textContent = or(s.log_start);
  $("log-entries").textContent = or(s.log_entries);
  $("snapshots").textContent = or(s.snapshots_taken) + " / " + or(s.snapshots_installed);
  $("keys").textContent = or(s.keys);
  $("watches").textContent = or(s.watches);
  $("level").textContent = s.level ? s.level.cluster + " / " + s.level.max : "-";
  // The space guard: while a member's no_space alarm is up, writes that grow
  // the state are refused (507).
  $("space").textContent = !s.space ? "-" :
    s.space.state_bytes + " / " + (s.space.quota_bytes || "no quota") +
    (s.space.alarms.length ? " (no_space alarm: " + s.space.alarms.map((id) => "n" + id).join(", ") + ")" : "");
  $("digest").textContent = or(s.digest);
  $("version").textContent = or(s.version);
  const peers = new Map((s.peers || []).map((p) => [p.id, p]));
  const body = $("members");
  body.replaceChildren();
  // Learners (thesis §4.2.1: they receive the log but do not vote) are in
  // "members" and not in "voters"; a peer older than membership changes
  // has no "voters": every member votes.
  const voters = new Set(s.voters || s.members || []);
  for (const id of s.members || []) {
    const p = peers.get(id);
    const role = !voters.has(id) ? "learner"
               : id === s.id ? s.role : id === s.leader ? "leader" : s.leader ? "follower" : "unknown";
    const row = document.createElement("tr");
    row.className = "member";
    row.dataset.id = id;
    row.dataset.role = role;
    cell(row, "n" + id + (id === s.id ? " (this peer)" : ""));
    cell(row, role);
    cell(row, id === s.id ? "-" : p && p.connected ? "yes" : "no");
    cell(row, p && "match_index" in p ? p.match_index : "-");
    cell(row, p && "lag" in p ? p.lag : id === s.id && s.role === "leader" ? 0 : "-");
    body.appendChild(row);
  }
  const list = $("leader-changes");
  list.replaceChildren();
  for (const c of (s.leader_changes || []).slice().reverse()) {
    const li = document.createElement("li");
    li.textContent = "term " + c.term + ": n" + c.leader + " at " + new Date(c.unix_ms).toLocaleTimeString();
    list.appendChild(li);
  }
}

// The lines raftlite_broadcasts_total{outcome="..."} N of the Prometheus text.
function showMetrics(text) {
  const body = $("broadcasts");
  body.replaceChildren();
  const re = /^raftlite_broadcasts_total\{outcome="([a-z_]+)"\} ([0-9.e+]+)$/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (!m) continue;
    const row = document.createElement("tr");
    cell(row, m[1]);
    cell(row, m[2]);
    body.appendChild(row);
  }
}

// GET /health: whether this peer could serve a linearizable read now.
async function showHealth() {
  try {
    const h = await (await fetch("/health")).json();
    $("health").textContent = h.health ? "healthy" : "unhealthy: " + h.message;
  } catch (e) {
    $("health").textContent = "unknown: " + e.message;
  }
}

async function refresh() {
  showHealth();
  try {
    const [s, m] = await Promise.all([fetch("/status"), fetch("/metrics")]);
    if (!s.ok) throw new Error("/status: HTTP " + s.status);
    showStatus(await s.json());
    if (m.ok) showMetrics(await m.text());
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    $("error").textContent = "";
  } catch (e) {
    $("error").textContent = "cannot refresh: " + e.message;
  }
  setTimeout(refresh, 1000);
}
refresh();
</script>
</body>
</html>
)html";

} // namespace

std::string_view status_page_html() noexcept { return page; }

} // namespace raftlite::kv
