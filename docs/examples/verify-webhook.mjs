// A receiver of Samordna's webhooks in Node.js (18 or newer), with nothing but the standard library.
// docs/integration.md ("Verifying a delivery") says what is signed; this file is that text in code.
//
//   SAMORDNA_WEBHOOK_SECRETS='the-secret-you-gave' node verify-webhook.mjs [port]
//
// SAMORDNA_WEBHOOK_SECRETS holds one secret, or a JSON list of them while you rotate (old and new).
// Each request is answered 204 when it verifies (also a repeat: de-duplicate, never refuse it),
// 401 when it does not; one JSON line per request goes to stdout. Port 0 (the default) takes a
// free port; the first line printed is {"listening": <port>}.
// Import { verify } to use the check in your own server instead.

import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { pathToFileURL } from "node:url";

export const TOLERANCE_SECONDS = 300;

/**
 * True if `body` (the raw bytes, before any JSON parsing) was signed with one of `secrets` at a
 * time no more than `toleranceSeconds` from `now` (unix seconds).
 * `headers` is Node's request.headers (names in lower case).
 */
export function verify({ secrets, headers, body, toleranceSeconds = TOLERANCE_SECONDS, now = Date.now() / 1000 }) {
  const timestamp = headerValue(headers, "samordna-timestamp");
  const signatures = headerValue(headers, "samordna-signature");
  if (timestamp === undefined || signatures === undefined || !/^\d+$/.test(timestamp.trim())) return false;
  const sentAt = Number(timestamp.trim());
  if (Math.abs(now - sentAt) > toleranceSeconds) return false;
  // what is signed: the decimal timestamp, a full stop, then the body's bytes exactly as received
  const signed = Buffer.concat([Buffer.from(`${sentAt}.`, "ascii"), body]);
  const offered = signatures
    .split(",")
    .map((part) => part.trim().split("="))
    .filter(([scheme, value]) => scheme === "v1" && /^[0-9a-f]{64}$/.test(value ?? ""))
    .map(([, value]) => Buffer.from(value, "hex"));
  return secrets.some((secret) => {
    const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(signed).digest();
    return offered.some((candidate) => timingSafeEqual(candidate, expected));
  });
}

function headerValue(headers, name) {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function secretsFromEnvironment() {
  const raw = process.env.SAMORDNA_WEBHOOK_SECRETS ?? "";
  const secrets = raw.trim().startsWith("[") ? JSON.parse(raw) : [raw];
  if (!secrets.length || secrets.some((s) => typeof s !== "string" || s.length < 16)) {
    throw new Error("SAMORDNA_WEBHOOK_SECRETS: one secret of 16 or more characters, or a JSON list of them");
  }
  return secrets;
}

function serve(port) {
  const secrets = secretsFromEnvironment();
  const seen = new Set(); // a real receiver keeps this with what it stores, in the same transaction
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const valid = request.method === "POST" && verify({ secrets, headers: request.headers, body });
      const line = { valid, raw: { headers: request.headers, body: body.toString("base64") } };
      if (valid) {
        // trust only what is signed: the ids come from the body, not from the unsigned headers
        const { seq, event } = JSON.parse(body.toString("utf8"));
        const key = `${event.principal}/${event.id}`;
        Object.assign(line, { event_id: event.id, principal: event.principal, seq, duplicate: seen.has(key) });
        seen.add(key);
      }
      process.stdout.write(JSON.stringify(line) + "\n");
      response.writeHead(valid ? 204 : 401).end();
    });
  });
  server.listen(port, "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ listening: server.address().port }) + "\n");
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  serve(Number(process.argv[2] ?? 0));
}
