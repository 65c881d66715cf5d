// raftlite kv — the admin API's answers (see kv_admin.hpp).
#include "kv_admin.hpp"

#include <raftlite/error.hpp>
#include <raftlite/node.hpp>

#include <boost/asio/error.hpp>
#include <boost/json.hpp>

namespace raftlite::kv {

namespace json = boost::json;

std::string member_kv(const member& m, const member_directory& d) {
    if (!m.info.empty()) return m.info;
    if (m.id == d.self) return d.self_kv;
    return {};
}

std::string member_raft(const member& m, const member_directory& d) {
    if (!m.address.empty()) return m.address;
    if (auto it = d.raft_peers.find(m.id); it != d.raft_peers.end()) return it->second;
    return {};
}

namespace {

json::value or_null(const std::string& s) { return s.empty() ? json::value(nullptr) : json::value(s); }

std::string leader_kv(const node_status& s, const member_directory& d) {
    if (s.leader == no_node) return {};
    if (const member* m = s.members.find(s.leader)) return member_kv(*m, d);
    return s.leader == d.self ? d.self_kv : std::string();
}

json::object error_object(const char* token, const std::string& message) {
    return json::object{{"error", token}, {"message", message}};
}

admin_reply reply(unsigned status, const json::object& o) { return {status, json::serialize(o), {}}; }

std::string name(node_id id) { return "n" + std::to_string(id); }

} // namespace

json::object members_object(const node_status& s, const member_directory& d) {
    json::object o;
    o["id"] = s.id;
    o["leader"] = s.leader;
    o["leader_kv"] = or_null(leader_kv(s, d));
    o["configuration_index"] = s.configuration_index;
    json::array members;
    for (const member& m : s.members.members()) {
        json::object mo;
        mo["id"] = m.id;
        mo["voter"] = m.voter;
        mo["raft"] = or_null(member_raft(m, d));
        mo["kv"] = or_null(member_kv(m, d));
        if (s.role == role::leader) {
            if (m.id == s.id) mo["match_index"] = s.last_log_index;
            else if (auto it = s.match_index.find(m.id); it != s.match_index.end()) mo["match_index"] = it->second;
        }
        members.push_back(std::move(mo));
    }
    o["members"] = std::move(members);
    return o;
}

std::string change_conflict(const membership& m, const admin_route& c) {
    using action = admin_route::action;
    const member* found = m.find(c.id);
    switch (c.what) {
    case action::list:
        return {};
    case action::add_learner:
        if (found && (found->voter || found->address != c.raft || found->info != c.kv))
            return name(c.id) + " is already a member (" + (found->voter ? "voter" : "learner") +
                   (found->address.empty() ? std::string() : " at " + found->address) +
                   "): remove it first or choose another id";
        return {};
    case action::promote:
        if (!found) return "no member " + name(c.id) + ": add it as a learner first";
        return {};
    case action::transfer_leadership:
        if (!found || !found->voter) return name(c.id) + " is not a voter of the configuration (" + to_string(m) + ")";
        return {};
    case action::demote:
    case action::remove:
        if (!found) return "no member " + name(c.id) + " in the configuration (" + to_string(m) + ")";
        if (found->voter && m.voter_count() == 1)
            return name(c.id) + " is the last voter: the cluster would have none";
        return {};
    }
    return {};
}

admin_reply change_reply(const admin_route& c, boost::system::error_code ec, index_t index, const node_status& s,
                         const member_directory& d, const membership& before) {
    const std::string what = std::string(admin_action_name(c.what)) + " " + name(c.id);
    if (!ec)
        return reply(200, json::object{{"result", "ok"}, {"action", admin_action_name(c.what)}, {"id", c.id},
                                        {"index", index}});
    if (ec == errc::not_leader) {
        json::object o = error_object(
            "not_leader", s.leader == no_node
                              ? "this peer does not lead and knows no leader; retry later"
                              : "this peer does not lead: send membership changes to the leader " + name(s.leader) +
                                    (leader_kv(s, d).empty() ? std::string() : " at " + leader_kv(s, d)));
        o["leader"] = s.leader;
        o["leader_kv"] = or_null(leader_kv(s, d));
        return reply(503, o);
    }
    if (ec == errc::busy) {
        admin_reply r = reply(409, error_object("busy", "another membership change is under way (one at a time); "
                                                        "nothing changed: retry"));
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (ec == errc::change_rejected || ec == errc::transfer_rejected) {
        // The leader is the peer that answers: a transfer naming it has no
        // one to hand the leadership to (thesis §3.10 names another voter).
        std::string why = c.what == admin_route::action::transfer_leadership && c.id == s.id
                              ? name(c.id) + " leads already: name another voter to hand the leadership to"
                              : change_conflict(before, c);
        if (why.empty()) why = what + " does not fit the configuration (" + to_string(before) + ")";
        return reply(400, error_object("change_rejected", why));
    }
    if (ec == errc::transfer_timed_out)
        return reply(409, error_object("transfer_timed_out",
                                       name(c.id) + " did not take over within an election timeout; the leader "
                                                    "serves again and nothing changed: retry"));
    if (ec == errc::not_caught_up)
        return reply(409, error_object("not_caught_up", name(c.id) +
                                                            " did not catch up with the leader's log in time; "
                                                            "nothing changed: retry the promotion later"));
    if (ec == errc::outcome_unknown || ec == errc::timed_out)
        return reply(504, error_object(ec == errc::timed_out ? "timed_out" : "outcome_unknown",
                                       what + ": " + ec.message() +
                                           "; the change may still happen: look at GET /members (asking again is "
                                           "safe)"));
    return reply(503, error_object("unavailable", what + ": " + ec.message()));
}

} // namespace raftlite::kv
