// A user strategy whose onStop never returns: stopping takes until the supervisor's deadline,
// which leaves a window for an operator's second signal.
import type { Strategy } from "../../daemon/strategy/api.ts";

export default function create(): Strategy {
  return {
    onStop() {
      for (;;) {
        // busy: the supervisor terminates this worker when its stop deadline passes
      }
    },
  };
}
