// A user strategy that wedges its worker on the first quote: the thread stays alive but makes
// no progress, which the systemd watchdog must notice (and a timer on main alone would not).
import type { Strategy } from "../../daemon/strategy/api.ts";

export default function create(): Strategy {
  return {
    onQuote() {
      for (;;) {
        // wedged: never returns, never throws
      }
    },
  };
}
