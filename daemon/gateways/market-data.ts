/**
 * The market-data gateway contract (after NautilusTrader's adapter template): what every feed
 * implementation must and may provide. Implementations: `synthetic` (daemon/feeds/synthetic),
 * `polygon` (daemon/gateways/polygon), `replay` (daemon/feeds/replay). All run in the feed
 * worker and publish fixed-size records into the market-data ring, once per batch (frame).
 *
 * | | must | may |
 * |---|---|---|
 * | records | QUOTE / TRADE (BAR) records per `daemon/shm/records.ts`, each with the receive time of its frame | skip kinds the strategy does not use |
 * | publish | once per frame / batch, after the whole frame was checked | |
 * | full ring | count every dropped record (`md_dropped`) under `when_full: drop`; wait under `wait` | |
 * | quote book | write the last quote (and trade price) of each symbol | |
 * | bad input | count by kind, drop, keep going; never throw out of the feed loop | log samples at a bounded rate |
 * | state | report connected / subscribed / stale in the feed metric block and the control block | report reconnects, gaps, status events |
 * | stop | leave its loop promptly when the control block's STOP_FEED is set | |
 * | secrets | never log a key | |
 */
export {};
