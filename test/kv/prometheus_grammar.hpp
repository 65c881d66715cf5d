// A checker of the Prometheus text exposition format (version 0.0.4), line
// by line, plus the conventions raftlite's exporter keeps. Used on the
// formatter's output (kv_tests) and on a running peer's /metrics
// (process_tests). Header-only: both suites include it.
#ifndef RAFTLITE_TEST_PROMETHEUS_GRAMMAR_HPP
#define RAFTLITE_TEST_PROMETHEUS_GRAMMAR_HPP

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace raftlite::test {

struct prom_sample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;

    std::string label(const std::string& key) const {
        for (const auto& [k, v] : labels)
            if (k == key) return v;
        return {};
    }
};

struct prom_text {
    std::vector<prom_sample> samples;
    std::map<std::string, std::string> types;   ///< family -> counter, gauge, histogram, ...
    std::set<std::string> helps;
    std::vector<std::string> problems;          ///< empty: the text is valid

    /// The value of the one sample `name` with label `key`="value" (or none).
    const prom_sample* find(const std::string& name, const std::string& key = {},
                            const std::string& value = {}) const {
        for (const prom_sample& s : samples)
            if (s.name == name && (key.empty() || s.label(key) == value)) return &s;
        return nullptr;
    }
};

namespace prom_detail {

inline bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
inline bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

inline bool metric_name(std::string_view n) {
    if (n.empty() || !name_start(n[0])) return false;
    for (char c : n)
        if (!name_char(c)) return false;
    return true;
}

inline bool label_name(std::string_view n) {
    if (n.empty() || n[0] == ':' || !name_start(n[0]) || n.substr(0, 2) == "__") return false;
    for (char c : n)
        if (c == ':' || !name_char(c)) return false;
    return true;
}

inline bool parse_value(std::string_view t, double& v) {
    if (t == "+Inf" || t == "Inf") { v = INFINITY; return true; }
    if (t == "-Inf") { v = -INFINITY; return true; }
    if (t == "NaN") { v = NAN; return true; }
    if (t.empty()) return false;
    const std::string s(t);
    char* end = nullptr;
    v = std::strtod(s.c_str(), &end);
    return end == s.c_str() + s.size();
}

inline std::string without_suffix(const std::string& n, std::string_view suffix) {
    if (n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0)
        return n.substr(0, n.size() - suffix.size());
    return {};
}

// The labels other than `le`, as one string: a histogram's series key.
inline std::string series_key(const prom_sample& s) {
    std::string k;
    for (const auto& [n, v] : s.labels)
        if (n != "le") k += n + "=" + v + ",";
    return k;
}

} // namespace prom_detail

/// Parses `text`; every way it breaks the format or raftlite's conventions
/// (names prefixed raftlite_, counters ending _total, histograms complete and
/// cumulative) is one entry of problems, naming the line.
inline prom_text parse_prometheus(const std::string& text) {
    using namespace prom_detail;
    prom_text out;
    auto problem = [&](std::size_t line, const std::string& why) {
        out.problems.push_back("line " + std::to_string(line) + ": " + why);
    };
    if (!text.empty() && text.back() != '\n') problem(0, "the text does not end with a newline");

    std::set<std::string> closed;    // families whose lines ended (a family's lines are together)
    std::string current;             // the family of the previous line
    std::set<std::string> series;    // name{labels} seen, to catch duplicates
    auto enter = [&](std::size_t line, const std::string& family) {
        if (family == current) return;
        if (closed.count(family)) problem(line, "the lines of " + family + " are not together");
        if (!current.empty()) closed.insert(current);
        current = family;
    };

    std::size_t number = 0, pos = 0;
    while (pos < text.size()) {
        const std::size_t eol = text.find('\n', pos);
        const std::string line = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
        pos = eol == std::string::npos ? text.size() : eol + 1;
        ++number;
        if (line.empty()) continue;
        if (line[0] == '#') {
            // "# HELP name text", "# TYPE name type"; other comments are free text.
            const bool help = line.rfind("# HELP ", 0) == 0, type = line.rfind("# TYPE ", 0) == 0;
            if (!help && !type) continue;
            const std::string rest = line.substr(7);
            const std::size_t sp = rest.find(' ');
            const std::string name = rest.substr(0, sp);
            const std::string arg = sp == std::string::npos ? std::string() : rest.substr(sp + 1);
            if (!metric_name(name)) { problem(number, "bad metric name '" + name + "'"); continue; }
            enter(number, name);
            if (help) {
                if (!out.helps.insert(name).second) problem(number, "second HELP for " + name);
                if (arg.empty()) problem(number, "empty HELP for " + name);
            } else {
                static const std::set<std::string> types{"counter", "gauge", "histogram", "summary", "untyped"};
                if (!types.count(arg)) problem(number, "bad type '" + arg + "'");
                if (out.types.count(name)) problem(number, "second TYPE for " + name);
                for (const prom_sample& s : out.samples)
                    if (s.name == name) problem(number, "TYPE of " + name + " after its samples");
                out.types[name] = arg;
            }
            continue;
        }
        // name [{label="value",...}] value [timestamp]
        prom_sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        if (!metric_name(s.name)) { problem(number, "bad metric name '" + s.name + "'"); continue; }
        bool ok = true;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (ok && i < line.size() && line[i] != '}') {
                std::size_t eq = line.find('=', i);
                if (eq == std::string::npos) { ok = false; break; }
                std::string key = line.substr(i, eq - i);
                if (!label_name(key) || eq + 1 >= line.size() || line[eq + 1] != '"') { ok = false; break; }
                std::string value;
                std::size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] == '\\') {
                        if (j + 1 >= line.size() || (line[j + 1] != '\\' && line[j + 1] != '"' && line[j + 1] != 'n')) {
                            ok = false;
                            break;
                        }
                        value += line[j + 1] == 'n' ? '\n' : line[j + 1];
                        ++j;
                    } else {
                        value += line[j];
                    }
                }
                if (!ok || j >= line.size()) { ok = false; break; }
                for (const auto& [k, v] : s.labels)
                    if (k == key) ok = false;
                s.labels.emplace_back(std::move(key), std::move(value));
                i = j + 1;
                if (i < line.size() && line[i] == ',') ++i;
                else if (i >= line.size() || line[i] != '}') ok = false;
            }
            if (!ok || i >= line.size() || line[i] != '}') { problem(number, "bad labels: " + line); continue; }
            ++i;
        }
        if (i >= line.size() || line[i] != ' ') { problem(number, "no value: " + line); continue; }
        std::string fields = line.substr(i + 1);
        const std::size_t sp = fields.find(' ');
        if (sp != std::string::npos) {
            const std::string ts = fields.substr(sp + 1);
            if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos)
                problem(number, "bad timestamp: " + line);
            fields = fields.substr(0, sp);
        }
        if (!parse_value(fields, s.value)) { problem(number, "bad value '" + fields + "'"); continue; }

        // The sample's family: a histogram's _bucket, _sum and _count belong to it.
        std::string family = s.name;
        for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
            const std::string base = without_suffix(s.name, suffix);
            if (!base.empty() && out.types.count(base) && out.types[base] == "histogram") family = base;
        }
        if (!out.types.count(family)) problem(number, "sample of " + family + " before its TYPE");
        if (!out.helps.count(family)) problem(number, "sample of " + family + " without HELP");
        enter(number, family);
        std::string key = s.name + "{";
        for (const auto& [k, v] : s.labels) key += k + "=\"" + v + "\",";
        if (!series.insert(key).second) problem(number, "duplicate series " + key + "}");
        out.samples.push_back(std::move(s));
    }

    // raftlite's conventions, and what makes a histogram a histogram.
    for (const auto& [family, type] : out.types) {
        if (family.rfind("raftlite_", 0) != 0) out.problems.push_back(family + ": not prefixed raftlite_");
        if (type == "counter" && without_suffix(family, "_total").empty())
            out.problems.push_back(family + ": a counter not ending _total");
        if (type != "counter" && !without_suffix(family, "_total").empty())
            out.problems.push_back(family + ": _total on a " + type);
        if (type == "counter")
            for (const prom_sample& s : out.samples)
                if (s.name == family && !(s.value >= 0)) out.problems.push_back(family + ": negative counter");
        if (type != "histogram") continue;
        // Per series (labels other than le): le ascending, counts cumulative,
        // a +Inf bucket equal to _count, and a _sum.
        std::map<std::string, std::vector<const prom_sample*>> buckets;
        std::map<std::string, const prom_sample*> sums, counts;
        for (const prom_sample& s : out.samples) {
            if (s.name == family + "_bucket") buckets[series_key(s)].push_back(&s);
            if (s.name == family + "_sum") sums[series_key(s)] = &s;
            if (s.name == family + "_count") counts[series_key(s)] = &s;
        }
        if (buckets.empty()) out.problems.push_back(family + ": a histogram without buckets");
        for (const auto& [k, bs] : buckets) {
            double last_le = -INFINITY, last_count = 0;
            for (const prom_sample* b : bs) {
                double le = 0;
                if (!parse_value(b->label("le"), le)) {
                    out.problems.push_back(family + ": bucket without a valid le");
                    continue;
                }
                if (!(le > last_le)) out.problems.push_back(family + ": le not ascending at " + b->label("le"));
                if (b->value < last_count) out.problems.push_back(family + ": bucket counts decrease at le=" + b->label("le"));
                last_le = le;
                last_count = b->value;
            }
            if (!std::isinf(last_le)) out.problems.push_back(family + ": no +Inf bucket");
            if (!counts.count(k)) out.problems.push_back(family + ": no _count");
            else if (counts[k]->value != last_count) out.problems.push_back(family + ": +Inf bucket != _count");
            if (!sums.count(k)) out.problems.push_back(family + ": no _sum");
        }
    }
    return out;
}

} // namespace raftlite::test

#endif
