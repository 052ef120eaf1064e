// The playground's request as code a user can copy: curl, qdrant-client, Zoro's client.

function py(value, indent = 0) {
  // JSON to a Python literal (true/false/null become True/False/None)
  const pad = " ".repeat(indent);
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v !== "object" || v === null)) return `[${value.map((v) => py(v)).join(", ")}]`;
    return `[\n${value.map((v) => `${pad}    ${py(v, indent + 4)}`).join(",\n")},\n${pad}]`;
  }
  if (typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return "{}";
    return `{\n${entries.map(([k, v]) => `${pad}    ${JSON.stringify(k)}: ${py(v, indent + 4)}`).join(",\n")},\n${pad}}`;
  }
  return JSON.stringify(value);
}

function shellQuote(text) {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

export function curl(origin, collection, body, withKey) {
  const url = `${origin}/collections/${encodeURIComponent(collection)}/points/query`;
  const key = withKey ? ` \\\n  -H "api-key: $ZORO_API_KEY"` : "";
  return `curl -X POST ${shellQuote(url)} \\\n  -H 'content-type: application/json'${key} \\\n  -d ${shellQuote(JSON.stringify(body))}`;
}

export function qdrantClient(origin, collection, body, withKey) {
  const args = [`    collection_name=${JSON.stringify(collection)}`, `    query=${py(body.query, 4)}`];
  if (body.using) args.push(`    using=${JSON.stringify(body.using)}`);
  if (body.filter) args.push(`    query_filter=models.Filter(**${py(body.filter, 4)})`);
  if (body.params) args.push(`    search_params=models.SearchParams(**${py(body.params, 4)})`);
  args.push(`    limit=${body.limit}`, "    with_payload=True");
  const key = withKey ? ', api_key=os.environ["ZORO_API_KEY"]' : "";
  return [
    withKey ? "import os\n" : "",
    "from qdrant_client import QdrantClient, models\n\n",
    `client = QdrantClient(url=${JSON.stringify(origin)}${key})\n`,
    `hits = client.query_points(\n${args.join(",\n")},\n).points\n`,
    "for hit in hits:\n    print(hit.id, hit.score, hit.payload)\n",
  ].join("");
}

export function zoroClient(origin, collection, body, withKey) {
  const byId = typeof body.query !== "object";
  const args = [`        ${JSON.stringify(collection)}`, `        ${py(body.query, 8)}`];
  if (body.using) args.push(`        using=${JSON.stringify(body.using)}`);
  if (body.filter) args.push(`        filter=${py(body.filter, 8)}`);
  args.push(`        limit=${body.limit}`);
  if (body.params?.hnsw_ef) args.push(`        hnsw_ef=${body.params.hnsw_ef}`);
  if (body.params?.exact) args.push("        exact=True");
  const key = withKey ? ', api_key=os.environ["ZORO_API_KEY"]' : "";
  return [
    withKey ? "import os\n\n" : "",
    "import trio\n\nfrom zoro.client import AsyncZoroClient\n\n\n",
    "async def main() -> None:\n",
    `    async with AsyncZoroClient(${JSON.stringify(origin)}${key}) as client:\n`,
    `        hits = await client.${byId ? "search_by_id" : "search"}(\n${args.map((a) => `    ${a}`).join(",\n")},\n        )\n`,
    "        for hit in hits:\n            print(hit.id, hit.score, hit.payload)\n\n\n",
    "trio.run(main)\n",
  ].join("");
}
