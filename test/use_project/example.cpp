// Links /raftlite//raftlite from another b2 project and elects a one-node cluster.
#include <raftlite/core.hpp>

#include <iostream>

int main() {
    raftlite::core_config cfg;
    cfg.self = 1;
    cfg.members = {1};
    raftlite::core c(cfg);
    c.start();
    auto out = c.step(raftlite::election_timeout{});
    if (c.role() != raftlite::role::leader) {
        std::cerr << "one-node cluster did not elect itself\n";
        return 1;
    }
    std::cout << "use-project example: node 1 is leader of term " << c.current_term() << "\n";
    return 0;
}
