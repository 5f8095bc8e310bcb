// The socket to the server. One at a time; reconnects with a linear backoff (0.4 s more per
// failed attempt, at most 4 s) and no heartbeat of its own: the server's WebSocket pings
// find dead peers. Handlers of a replaced socket are ignored.

const STEP_MS = 400;
const MAX_MS = 4000;

export class Link {
  constructor({ name, urlFor, onFrame, onStatus }) {
    this.name = name; // in every frame's envelope: a replayed write is known by it
    this.urlFor = urlFor;
    this.onFrame = onFrame;
    this.onStatus = onStatus;
    this.ws = null;
    this.ready = false;
    this.attempts = 0;
    this.timer = null;
    this.stopped = false;
  }

  start() {
    this.connect("connecting");
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "page closed");
  }

  // A new socket now (legacy mode: a period of its own per socket).
  reopen() {
    const old = this.ws;
    this.ws = null;
    if (old) old.close(1000, "period changed");
    clearTimeout(this.timer);
    this.connect("connecting");
  }

  send(frame) {
    if (!this.ready) return false;
    this.ws.send(JSON.stringify({ ...frame, clientId: frame.clientId ?? this.name })); // a carried-over write keeps its name
    return true;
  }

  connect(status) {
    this.ready = false;
    this.onStatus(status);
    const ws = new WebSocket(this.urlFor());
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.type === "CONNECTION_ACK") {
        this.ready = true;
        this.attempts = 0;
        this.onStatus("connected");
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (this.ws !== ws || this.stopped) return;
      this.ready = false;
      this.attempts += 1;
      this.onStatus("reconnecting");
      const delay = Math.min(MAX_MS, STEP_MS * this.attempts) * (0.75 + Math.random() / 4);
      this.timer = setTimeout(() => this.connect("reconnecting"), delay);
    });
  }
}
