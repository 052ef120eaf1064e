// Snapshots: a collection's archives and the full-storage ones; create, download, restore
// (from an archive on the server, or one uploaded from this computer), delete.

import { api, collectionPath, del, download, get, post, put } from "/dashboard/api.js";
import { confirmAction, go } from "/dashboard/app.js";
import { collectionToolbar, errorBox, fmtBytes, h, mount } from "/dashboard/dom.js";

function snapshotTable(id, snapshots, actions) {
  if (!snapshots.length) return h("p", { class: "muted", id }, "No snapshots yet.");
  return h("table", { id },
    h("thead", {}, h("tr", {}, ...["name", "created", "size", "sha256", ""].map((t) => h("th", {}, t)))),
    h("tbody", {}, snapshots.map((s) => h("tr", { "data-snapshot": s.name },
      h("td", {}, s.name), h("td", {}, s.creation_time ?? ""), h("td", { class: "num" }, fmtBytes(s.size)),
      h("td", { class: "mono" }, (s.checksum ?? "").slice(0, 16)), h("td", { class: "actions" }, actions(s))))));
}

export async function render(root, params) {
  const { collections } = await get("/collections");
  const name = params.get("c") ?? "";
  const message = h("div", { id: "snapshots-message" });
  const done = (text) => mount(message, h("p", { class: "ok" }, text));
  const failed = (error) => mount(message, errorBox(error.message));
  const section = h("div");
  const full = h("div");
  mount(root, h("h1", {}, "Snapshots"),
    collectionToolbar(collections, name, (n) => go("snapshots", { c: n })),
    message, section, full);

  async function drawCollection() {
    if (!name) return;
    const list = await get(collectionPath(name, "/snapshots"));
    const target = h("input", { id: "restore-target", value: name });
    const file = h("input", { type: "file", id: "restore-file" });
    mount(section, h("div", { class: "card" },
      h("h2", {}, `Collection “${name}”`),
      h("button", { type: "button", id: "create-snapshot", onclick: async () => {
        try {
          const made = await post(collectionPath(name, "/snapshots"));
          done(`Created ${made.name}.`);
          await drawCollection();
        } catch (error) { failed(error); }
      } }, "Create snapshot"),
      snapshotTable("snapshots-table", list, (s) => [
        h("button", { type: "button", class: "link", onclick: () => download(collectionPath(name, `/snapshots/${encodeURIComponent(s.name)}`), s.name).catch(failed) }, "download"),
        h("button", { type: "button", class: "link", onclick: async () => {
          const into = target.value.trim() || name;
          if (!(await confirmAction(`Replace the collection “${into}” with snapshot ${s.name}? Its current points are lost.`, "Restore"))) return;
          try {
            await put(collectionPath(into, "/snapshots/recover"), { location: `${name}/${s.name}`, checksum: s.checksum ?? undefined });
            done(`Restored “${into}” from ${s.name}.`);
          } catch (error) { failed(error); }
        } }, "restore"),
        h("button", { type: "button", class: "link danger", onclick: async () => {
          if (!(await confirmAction(`Delete snapshot ${s.name} of “${name}”?`))) return;
          try {
            await del(collectionPath(name, `/snapshots/${encodeURIComponent(s.name)}`));
            await drawCollection();
          } catch (error) { failed(error); }
        } }, "delete"),
      ]),
      h("p", {}, h("label", {}, "Restore into collection ", target)),
      h("p", {}, "Or upload an archive from this computer: ", file, " ",
        h("button", { type: "button", onclick: async () => {
          const chosen = file.files[0];
          const into = target.value.trim() || name;
          if (!chosen) { failed(new Error("Choose a snapshot file first.")); return; }
          if (!(await confirmAction(`Replace the collection “${into}” with the uploaded ${chosen.name}?`, "Restore"))) return;
          try {
            await api("POST", collectionPath(into, "/snapshots/upload"), chosen);
            done(`Restored “${into}” from ${chosen.name}.`);
          } catch (error) { failed(error); }
        } }, "Upload and restore"))));
  }

  async function drawFull() {
    const list = await get("/snapshots");
    const file = h("input", { type: "file", id: "restore-full-file" });
    mount(full, h("div", { class: "card" },
      h("h2", {}, "Full-storage snapshots (every collection and the aliases)"),
      h("button", { type: "button", id: "create-full-snapshot", onclick: async () => {
        try {
          const made = await post("/snapshots");
          done(`Created ${made.name}.`);
          await drawFull();
        } catch (error) { failed(error); }
      } }, "Create full snapshot"),
      snapshotTable("full-snapshots-table", list, (s) => [
        h("button", { type: "button", class: "link", onclick: () => download(`/snapshots/${encodeURIComponent(s.name)}`, s.name).catch(failed) }, "download"),
        h("button", { type: "button", class: "link danger", onclick: async () => {
          if (!(await confirmAction(`Delete the full snapshot ${s.name}?`))) return;
          try {
            await del(`/snapshots/${encodeURIComponent(s.name)}`);
            await drawFull();
          } catch (error) { failed(error); }
        } }, "delete"),
      ]),
      h("p", {}, "Restore every collection in a full snapshot from this computer: ", file, " ",
        h("button", { type: "button", onclick: async () => {
          const chosen = file.files[0];
          if (!chosen) { failed(new Error("Choose a snapshot file first.")); return; }
          if (!(await confirmAction(`Replace every collection in ${chosen.name} (others are left alone)?`, "Restore"))) return;
          try {
            await api("POST", "/snapshots/upload", chosen);
            done(`Restored the collections of ${chosen.name}.`);
          } catch (error) { failed(error); }
        } }, "Upload and restore"))));
  }
  await Promise.all([drawCollection().catch(failed), drawFull().catch(failed)]);
  return undefined;
}
