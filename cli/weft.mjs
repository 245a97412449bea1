#!/usr/bin/env node
// The `weft` bin: the CLI is TypeScript, so register tsx's loader before loading it.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
