// Self-test script of internal/nodetest: prints {"ok":true,"args":[...]}.
// SELFTEST_FAIL=1: fails (message on stderr, exit 1).
// SELFTEST_HANG_PIDFILE=path: starts a child node process, writes its pid to path, and hangs until killed.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";

if (process.env.SELFTEST_FAIL === "1") {
  console.error("selftest: failing as asked by SELFTEST_FAIL");
  process.exit(1);
}
if (process.env.SELFTEST_HANG_PIDFILE) {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  console.error("selftest: hanging with child", child.pid);
  writeFileSync(process.env.SELFTEST_HANG_PIDFILE, String(child.pid));
  setInterval(() => {}, 1000);
} else {
  console.log(JSON.stringify({ ok: true, args: process.argv.slice(2) }));
}
