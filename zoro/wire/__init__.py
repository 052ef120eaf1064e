"""The wire's shapes: one JSON Schema description of each request, which both validates bodies
(`zoro.wire.check`) and is what /openapi.json serves (docs/wire-schema.md).

A leaf package: it imports only zoro.settings, zoro.types and zoro.errors, so services call it
without HTTP and the document reads it without the services."""
