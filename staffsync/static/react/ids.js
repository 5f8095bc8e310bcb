// A random id (32 hex digits). crypto.getRandomValues works on plain http too, where
// crypto.randomUUID (secure contexts only) does not exist.

export function newId() {
  let out = "";
  for (const word of crypto.getRandomValues(new Uint32Array(4))) {
    out += word.toString(16).padStart(8, "0");
  }
  return out;
}
