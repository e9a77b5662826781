"""Control-plane checks (SD5xx): watches, releases, reachability."""
