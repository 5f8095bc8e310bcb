// One WebSocket at a time, reconnected forever with capped exponential backoff and jitter.
// Handlers of an old socket never touch the current one.

const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;
const PING_EVERY_MS = 3000;
// A pong may take a stall of the network plus a round trip: on a train (mobile-flaky: a
// 2-6 s stall about every 20 s, RTT up to 900 ms) a 3 s time-out replaced a live socket
// every few minutes, each time with a resync of every period over a slow link.
const PONG_TIMEOUT_MS = 10000;

export class Connection {
  constructor({ name, urlFor, onMessage, onState, onReady }) {
    this.name = name;             // this page's name in every frame's envelope (clientId)
    this.urlFor = urlFor;         // () => WebSocket URL for the next socket
    this.onMessage = onMessage;   // (frame) => void
    this.onState = onState;       // ("connecting"|"connected"|"reconnecting"|"offline") => void
    this.onReady = onReady;       // (isReconnect) => void, after CONNECTION_ACK
    this.ws = null;
    this.failures = 0;
    this.everConnected = false;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongDeadline = null;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN && this.acked;
  }

  start() {
    this.open();
  }

  // The envelope names this page, so that a write re-sent after a reconnect (same
  // requestId) is recognised by the server and applied once; a write carried over from
  // another page load keeps the name it was first sent under.
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify({ ...frame, clientId: frame.clientId ?? this.name }));
    return true;
  }

  // Replace the current socket by a new one (navigation in legacy mode, a dead peer).
  restart() {
    const old = this.ws;
    this.open();
    if (old) old.close(1000, "replaced");
  }

  open() {
    clearTimeout(this.retryTimer);
    this.acked = false;
    this.onState(this.everConnected ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.urlFor());
    this.ws = ws;
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.pongDeadline = null;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        console.warn("ignored a frame that is not JSON", err);
        return;
      }
      if (frame.type === "CONNECTION_ACK") {
        this.acknowledged();
        return;
      }
      if (frame.type === "PONG") return;
      this.onMessage(frame);
    };
    ws.onclose = () => this.socketClosed(ws);
    ws.onerror = () => {}; // a close event follows every error
  }

  acknowledged() {
    const isReconnect = this.everConnected;
    this.acked = true;
    this.everConnected = true;
    this.failures = 0;
    this.onState("connected");
    this.startPings();
    this.onReady(isReconnect);
  }

  socketClosed(ws) {
    if (ws !== this.ws) return; // a replaced socket: not ours any more
    this.lost();
  }

  // The current socket is gone: try again later.
  lost() {
    this.stopPings();
    if (!this.acked) this.failures += 1;
    this.acked = false;
    this.onState("reconnecting");
    this.scheduleRetry();
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    const exp = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(this.failures, 10));
    const delay = exp / 2 + Math.random() * (exp / 2);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  // Application-level ping: a socket that stops answering (frozen server, half-open TCP)
  // is replaced by a new one.
  startPings() {
    this.stopPings();
    this.pingTimer = setInterval(() => {
      if (this.pongDeadline !== null && performance.now() > this.pongDeadline) {
        this.pongDeadline = null;
        this.restart();
        return;
      }
      if (this.pongDeadline === null && this.send({ type: "PING", payload: { timestamp: new Date().toISOString() } })) {
        this.pongDeadline = performance.now() + PONG_TIMEOUT_MS;
      }
    }, PING_EVERY_MS);
  }

  stopPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.pongDeadline = null;
  }
}
