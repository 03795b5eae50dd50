/**
 * Standalone Secrets Manager emulator: `npm run secrets-manager-emulator -- --port 0`.
 * Prints one JSON line `{"url": ..., "region": ..., "accountId": ...}` when ready and runs until
 * SIGINT/SIGTERM. Standalone, no rotation function is reachable: RotateSecret is accepted and its
 * rotation fails with "no rotation invoker is configured" (embed the emulator to plug one in).
 */
import { parseArgs } from "node:util";
import { startSecretsManagerEmulator } from "./emulator.ts";

const USAGE = `Usage: npm run secrets-manager-emulator -- [options]

A local AWS Secrets Manager (awsJson1_1 wire protocol) on 127.0.0.1.
Point an AWS SDK at the printed url with any credentials, e.g.
  new SecretsManagerClient({ endpoint: url, region, credentials: { accessKeyId: "local", secretAccessKey: "local" } })

Options:
  --port <n>                    TCP port (default 0: any free port)
  --region <name>               region in ARNs (default us-east-1)
  --account-id <12 digits>      account in ARNs (default 123456789012)
  --max-rotation-attempts <n>   whole-rotation retries before RotationFailed (default 3)
  -h, --help                    show this help

Prints {"url","region","accountId"} as one JSON line when ready. Stops on SIGINT/SIGTERM.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      region: { type: "string" },
      "account-id": { type: "string" },
      "max-rotation-attempts": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = parseInteger("--port", values.port, 0, 65_535);
  const attempts = values["max-rotation-attempts"];
  const emulator = await startSecretsManagerEmulator({
    port,
    region: values.region,
    accountId: values["account-id"],
    maxRotationAttempts:
      attempts === undefined ? undefined : parseInteger("--max-rotation-attempts", attempts, 1, 100),
  });
  process.stdout.write(
    `${JSON.stringify({ url: emulator.url, region: emulator.region, accountId: emulator.accountId })}\n`,
  );

  const shutdown = () => {
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

function parseInteger(flag: string, raw: string | undefined, min: number, max: number): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `secrets-manager-emulator: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(2);
});
