// Validates GraphQL documents against a live server's schema with the
// reference implementation: fetch the introspection result, build a client
// schema from it, then parse and validate every document given.
//
// usage: node validate.mjs URL FILE...
import { readFileSync } from "node:fs";
import { buildClientSchema, getIntrospectionQuery, parse, validate, printSchema } from "graphql";

const [url, ...files] = process.argv.slice(2);
const res = await fetch(url, {
  method: "POST",
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ query: getIntrospectionQuery() }),
});
const body = await res.json();
if (!res.ok || body.errors) {
  console.error(`introspection failed: HTTP ${res.status}: ${JSON.stringify(body.errors)}`);
  process.exit(1);
}
const schema = buildClientSchema(body.data);
let failed = 0;
for (const file of files) {
  let errors;
  try {
    errors = validate(schema, parse(readFileSync(file, "utf8")));
  } catch (e) {
    errors = [e];
  }
  for (const e of errors) {
    failed++;
    console.error(`${file}: ${e.message}`);
  }
}
console.log(`schema: ${printSchema(schema).split("\n").length} lines; ${files.length} documents; ${failed} errors`);
process.exit(failed ? 1 : 0);
