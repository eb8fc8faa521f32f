// A user strategy that kills its worker thread outright (not a thrown error): the daemon must
// notice the dead worker and exit non-zero instead of running half-dead.
import type { Strategy } from "../../daemon/strategy/api.ts";

export default function create(): Strategy {
  let quotes = 0;
  return {
    onQuote() {
      if (++quotes === 100) process.exit(3);
    },
  };
}
