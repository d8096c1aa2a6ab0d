/**
 * The remote-run protocol end to end, with the other node's login shell played by a local bash:
 * the same script, stdin and stdout a real SSH session carries (the cluster tier runs it over
 * real SSH between simulated nodes).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { CommandRunner } from "../../../lib/core/command_text.ts";
import { createCommandRunner } from "../../../lib/host/command.ts";
import { RunSupervisor } from "../../../lib/host/run_supervisor.ts";
import { remoteCommandLine, runRemote, sshCommand } from "../../../lib/host/remote_run.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/** Runs the command ssh would send, in a local bash, as root's login shell there would. */
function localShell(run: CommandRunner): CommandRunner {
  return (argv, options) => run(["bash", "-c", argv.at(-1)!], options);
}

/** A stand-in "executable": says what it received, waits for the lifeline to end, reports. */
const STAND_IN = `#!/bin/sh
IFS= read -r settings
printf '{"phoenix":"log","level":"info","message":"from=%s args=%s"}\\n' "$PHOENIX_FORWARDED_FROM" "$*"
printf '%s\\n' "$settings" > "$0.settings"
echo "a plain line"
echo "a warning" >&2
cat > /dev/null
echo '{"phoenix":"report","report":{"exitCode":143}}'
exit 143
`;

Deno.test("sshCommand: Proxmox's own ssh options, the cluster's known hosts, root at the node's address", async () => {
  await withTempDir(async (root) => {
    const node = { name: "pve2", ip: "192.0.2.12" };
    assert.deepEqual(sshCommand(node, root, "true"), [
      "ssh",
      "-e",
      "none",
      "-o",
      "BatchMode=yes",
      "-o",
      "HostKeyAlias=pve2",
      "-o",
      `UserKnownHostsFile=${join(root, "etc/pve/priv/known_hosts")}`,
      "-o",
      "ConnectTimeout=10",
      "-o",
      "ServerAliveInterval=15",
      "-o",
      "ServerAliveCountMax=4",
      "root@192.0.2.12",
      "--",
      "true",
    ]);
    // Proxmox VE 8 keeps each node's host key in its own file.
    await Deno.mkdir(join(root, "etc/pve/nodes/pve2"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "etc/pve/nodes/pve2/ssh_known_hosts"),
      "pve2 ssh-ed25519 AAAA\n",
    );
    const argv = sshCommand(node, root, "true");
    assert.deepEqual(argv.slice(7, 11), [
      "-o",
      `UserKnownHostsFile=${join(root, "etc/pve/nodes/pve2/ssh_known_hosts")}`,
      "-o",
      "GlobalKnownHostsFile=none",
    ]);
  });
});

Deno.test("remoteCommandLine quotes every word; no secret is on it", () => {
  const line = remoteCommandLine("pve1", "phoenix_hypervisor_setup_920.sh", ["920", "--dry-run"]);
  assert.match(
    line,
    /^sh -c \$'.*' phoenix-setup-remote pve1 phoenix_hypervisor_setup_920\.sh 920 --dry-run$/s,
  );
});

Deno.test("runRemote: a node without the executable gets this one sent, its settings on stdin, its lines relayed; ending the lifeline ends it", async () => {
  await withTempDir(async (dir) => {
    const name = "phoenix_hypervisor_setup_999.sh";
    const executable = join(dir, "stand-in");
    await Deno.writeTextFile(executable, STAND_IN, { mode: 0o755 });
    const supervisor = new RunSupervisor();
    const lines: string[] = [];
    const running = runRemote(localShell(createCommandRunner({ supervisor })), {
      node: { name: "pve2", ip: "192.0.2.12" },
      hostRoot: dir,
      from: "pve1",
      executablePath: executable,
      executableName: name,
      args: ["999", "--dry-run"],
      settingsLine: JSON.stringify({
        env: { HF_TOKEN: "hf_secretvalue123" },
        config: { text: "{}" },
      }),
      onLine: (stream, line) => {
        lines.push(`${stream}: ${line}`);
      },
      timeoutMs: 30_000,
      stopGraceMs: 10_000,
    });
    // Wait for the run there to start, then stop it as a signal here would.
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.includes("a plain line")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    supervisor.stop("SIGTERM");
    supervisor.signalAll("SIGTERM");
    const remote = await running;
    assert.equal(remote.reached, true);
    assert.equal(remote.uploaded, true);
    assert.equal(remote.result.exitCode, 143);
    assert.deepEqual(
      lines.toSorted(),
      [
        'stdout: {"phoenix":"log","level":"info","message":"from=pve1 args=999 --dry-run"}',
        'stdout: {"phoenix":"report","report":{"exitCode":143}}',
        "stderr: a warning",
        "stdout: a plain line",
      ].toSorted(),
    );
    // The secret travelled on stdin, never on the command line.
    assert.doesNotMatch(remote.result.argv.join(" "), /hf_secret/);
  });
});
