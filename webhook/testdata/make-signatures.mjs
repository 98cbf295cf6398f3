// Regenerates signatures.jsonl with @octokit/webhooks-methods' own sign():
//   mkdir -p /tmp/npmcache && cd /tmp/npmcache && npm pack @octokit/webhooks-methods@6.0.0 && tar xzf octokit-webhooks-methods-6.0.0.tgz
//   node make-signatures.mjs push-branch.json > signatures.jsonl
import { sign } from "/tmp/npmcache/package/dist-node/index.js";
import { readFileSync } from "node:fs";
const body = readFileSync(process.argv[2], "utf8");
for (const secret of ["It's a Secret to Everybody", "rotated-secret-2"]) {
  console.log(JSON.stringify({ secret, file: process.argv[2].split("/").pop(), signature: await sign(secret, body) }));
}
console.log(JSON.stringify({ secret: "It's a Secret to Everybody", payload: "Hello, World!", signature: await sign("It's a Secret to Everybody", "Hello, World!") }));
