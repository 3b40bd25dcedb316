// Validates Kubernetes objects (a JSON array, from the file named first) against the Kubernetes API's schema, using
// kubernetes-models: validators generated from the Kubernetes OpenAPI spec (types, enums, required fields, formats).
// Prints "ok <kind> <name>" or "invalid <kind> <name>: <errors>" per object; exits 1 if any is invalid or unknown.
import { readFileSync } from "node:fs";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";

const models = { "batch/v1/Job": Job, "v1/ConfigMap": ConfigMap };
const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let bad = 0;
for (const o of objects) {
  const name = `${o.kind} ${o.metadata?.name}`;
  const Model = models[`${o.apiVersion}/${o.kind}`];
  if (!Model) { console.log(`invalid ${name}: no schema here for ${o.apiVersion} ${o.kind}`); bad++; continue; }
  try { new Model(o).validate(); console.log(`ok ${name}`); }
  catch (e) { console.log(`invalid ${name}: ${e.message} ${JSON.stringify(e.errors ?? [])}`); bad++; }
}
process.exit(bad ? 1 : 0);
