/**
 * The installable package, used from outside this repository: `npm pack` (which builds dist/ through
 * `prepack`), installed offline into a temporary project under os.tmpdir(), and there
 *   (a) a consumer Lambda written against `genesys-oauth-rotator/client` type-checks (moduleResolution
 *       nodenext and bundler) and gets a token from the local stack on the system Node and on Node 24;
 *       so does a notifications consumer (`genesys-oauth-rotator/client/notifications`), which opens a
 *       channel on the stack's Genesys emulator; the `client` entry's module graph does not reach the
 *       notifications helper, and neither loads a package other than @aws-sdk/client-lambda,
 *   (b) a user CDK app with `GenesysOAuthRotator` synthesizes cdk-nag clean without esbuild,
 *   (c) the tarball holds dist/ and LICENSE and none of the repository's tests, stand-ins or sources,
 *   (d) axios, an optional peer, is needed by neither client entry to load: `genesys-oauth-rotator/client`
 *       and `genesys-oauth-rotator/client/axios` load with axios removed (with it, (a) runs a consumer
 *       written against the axios entry).
 *   (e) in a second project with the official SDK (an optional peer, absent from the first),
 *       `genesys-oauth-rotator/client/genesys-sdk` type-checks and authorises an SDK call on both Nodes.
 *
 * The install: `npm install --offline <tarball> <specs>` needs registry metadata that the cache of a
 * lockfile install (`npm ci`) does not hold, so the project gets a package-lock.json cut from this
 * repository's lock (the same versions) and `npm ci --offline` installs it from the local npm cache.
 * One pack and one install are shared by every sub-test.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { TokenProvider } from "../../lambda/client/index.ts";
import { type LambdaEmulator, startLambdaEmulator } from "../../local/aws/lambda/index.ts";
import { assertNoSecrets } from "../support/log-capture.ts";
import {
  LOCAL_AWS,
  startVendingStack,
  VENDING_CREDENTIALS,
  type VendingStack,
} from "../support/vending-stack.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const run = promisify(execFile);

/** What the temporary project installs besides the tarball, at this repository's locked versions. */
const INSTALLED = [
  "aws-cdk-lib",
  "constructs",
  "typescript",
  "@aws-sdk/client-lambda",
  // The construct entry validates its configuration with zod/mini (a dependency of the package).
  "zod",
  // A consumer Lambda project has Node's types (the AWS SDK's declarations need them).
  "@types/node",
  // The user app runs the same checks as this repository's app.
  "cdk-nag",
  // The axios entry's optional peer: the axios consumer uses it; (d) proves no entry needs it to load.
  "axios",
] as const;

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [key: string]: unknown;
}

/** The environment of a child process: no npm lifecycle variables, no loaders, PATH without node_modules. */
function cleanEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key === "NODE_OPTIONS" || key.startsWith("npm_")) continue;
    env[key] = value;
  }
  for (const key of ["npm_config_cache", "npm_config_userconfig", "npm_config_registry"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  env.PATH = systemPath();
  return { ...env, ...extra };
}

function systemPath(): string {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .filter((dir) => dir !== "" && !dir.split(path.sep).includes("node_modules"))
    .join(path.delimiter);
}

/** The first `node` on PATH outside any node_modules: the machine's own Node (20 on the CI image). */
function systemNode(): string {
  for (const dir of systemPath().split(path.delimiter)) {
    const candidate = path.join(dir, "node");
    if (existsSync(candidate)) return candidate;
  }
  throw new Error("no system node on PATH");
}

/**
 * A project in `dir` that depends on the tarball and on `roots` at this repository's locked versions,
 * installed offline (`npm ci` of a lock file written from ours).
 */
async function installProject(dir: string, tarballFile: string, roots: readonly string[]): Promise<void> {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const dependencies: Record<string, string> = { [String(manifest.name)]: `file:${tarballFile}` };
  for (const name of roots) {
    dependencies[name] = String(lock.packages[`node_modules/${name}`]?.version);
  }
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "consumer-project", private: true, type: "module", dependencies }, null, 2),
  );
  const tarball = { name: String(manifest.name), file: tarballFile, manifest };
  writeFileSync(
    path.join(dir, "package-lock.json"),
    JSON.stringify(projectLock(dependencies, tarball, roots), null, 2),
  );
  await run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
    cwd: dir,
    env: cleanEnvironment(),
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The package-lock.json of the temporary project: the closure of `roots` in this repository's lock. */
function projectLock(
  dependencies: Record<string, string>,
  tarball: { name: string; file: string; manifest: Record<string, unknown> },
  roots: readonly string[],
): object {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const resolve = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = `${base === "" ? "" : `${base}/`}node_modules/${name}`;
      if (lock.packages[candidate] !== undefined) return candidate;
      if (base === "") return undefined;
      const index = base.lastIndexOf("/node_modules/");
      base = index < 0 ? "" : base.slice(0, index);
    }
  };
  const packages: Record<string, LockEntry> = {};
  const manifestDependencies = (tarball.manifest.dependencies ?? {}) as Record<string, string>;
  const queue = [...roots, ...Object.keys(manifestDependencies)].map((name) => {
    const key = resolve("", name);
    assert.ok(key, `${name} is not in package-lock.json`);
    return key;
  });
  for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
    if (packages[key] !== undefined) continue;
    const { dev: _dev, devOptional: _devOptional, ...entry } = lock.packages[key] as LockEntry;
    packages[key] = entry;
    for (const name of Object.keys(entry.dependencies ?? {})) {
      const dependency = resolve(key, name);
      assert.ok(dependency, `${name} (needed by ${key}) is not in package-lock.json`);
      queue.push(dependency);
    }
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      const dependency = resolve(key, name);
      if (dependency !== undefined) queue.push(dependency);
    }
  }
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball.file)).digest("base64")}`;
  packages[`node_modules/${tarball.name}`] = {
    version: String(tarball.manifest.version),
    resolved: `file:${tarball.file}`,
    integrity,
    ...Object.fromEntries(
      ["license", "dependencies", "peerDependencies", "peerDependenciesMeta", "engines", "bin"]
        .filter((field) => tarball.manifest[field] !== undefined)
        .map((field) => [field, tarball.manifest[field]]),
    ),
  };
  return {
    name: "consumer-project",
    lockfileVersion: 3,
    requires: true,
    packages: { "": { name: "consumer-project", dependencies }, ...packages },
  };
}

/** The folder of the vending function's bundle in the package installed in `project`. */
function shippedVendingBundle(project: string): string {
  return path.join(project, "node_modules", "genesys-oauth-rotator", "dist", "functions", "vending");
}

const CONSUMER = `import {
  genesysFetch,
  getToken,
  TokenProvider,
  TokenUnavailableError,
  type VendedToken,
} from "genesys-oauth-rotator/client";

type IsAny<T> = 0 extends 1 & T ? true : false;
// Unresolved package types would make these \`any\` and fail here.
export const typesResolved: [false, false, false] = [
  false as IsAny<typeof getToken>,
  false as IsAny<VendedToken>,
  false as IsAny<typeof TokenProvider>,
];

export interface Summary {
  status: number;
  tokenType: string;
  expiresInSeconds: number;
  apiBaseUrl: string;
}

export async function handler(): Promise<Summary> {
  let token: VendedToken;
  try {
    token = await getToken();
  } catch (error) {
    if (error instanceof TokenUnavailableError) throw new Error("the token vendor is unavailable");
    throw error;
  }
  const response = await genesysFetch("/api/v2/organizations/me", { headers: { accept: "application/json" } });
  await response.text();
  return {
    status: response.status,
    tokenType: token.tokenType,
    expiresInSeconds: token.expiresInSeconds,
    apiBaseUrl: token.apiBaseUrl,
  };
}
`;

const AXIOS_CONSUMER = `import axios from "axios";
import { attachGenesysAuth, type GenesysAxiosAuthOptions } from "genesys-oauth-rotator/client/axios";

type IsAny<T> = 0 extends 1 & T ? true : false;
export const axiosTypesResolved: [false, false] = [
  false as IsAny<typeof attachGenesysAuth>,
  false as IsAny<GenesysAxiosAuthOptions>,
];

const genesys = axios.create();
attachGenesysAuth(genesys, { retryRateLimited: true });

export async function axiosHandler(): Promise<{ status: number }> {
  const response = await genesys.get("/api/v2/organizations/me");
  return { status: response.status };
}
`;

const NOTIFICATIONS_CONSUMER = `import {
  NotificationChannelError,
  type NotificationEvent,
  type NotificationsHandle,
  openNotifications,
} from "genesys-oauth-rotator/client/notifications";

type IsAny<T> = 0 extends 1 & T ? true : false;
export const notificationTypesResolved: [false, false, false] = [
  false as IsAny<typeof openNotifications>,
  false as IsAny<NotificationEvent>,
  false as IsAny<NotificationsHandle>,
];

/** Opens a channel for one topic through the vendor, reports its state, closes it. */
export async function listen(topic: string): Promise<{ state: string; closedState: string }> {
  let handle: NotificationsHandle;
  try {
    handle = await openNotifications({ topics: [topic], onEvent() {} });
  } catch (error) {
    if (error instanceof NotificationChannelError) throw new Error(\`no channel: \${error.operation}\`);
    throw error;
  }
  const state = handle.state;
  await handle.close();
  return { state, closedState: handle.state };
}
`;

/**
 * What an entry of the installed package loads: its files (relative imports, followed) and the packages
 * it imports by name (static imports, re-exports and literal dynamic imports of the compiled JavaScript).
 */
function moduleGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [path.resolve(entry)];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, "utf8");
    for (const match of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g)) {
      const specifier = match[1]!;
      if (specifier.startsWith(".")) queue.push(path.resolve(path.dirname(file), specifier));
      else if (!specifier.startsWith("node:")) {
        packages.add(
          specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!,
        );
      }
    }
  }
  return { files, packages };
}

const USER_APP = `import { App, Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { GenesysOAuthRotator } from "genesys-oauth-rotator";

const app = new App();
const stack = new Stack(app, "UserStack");
// The README's cdk.json example, plus a second credential.
const rotator = new GenesysOAuthRotator(stack, "Rotator", {
  credentials: [
    { name: "default", environment: "mypurecloud.ie", strategy: "alternating", admin: "admin" },
    { name: "reporting", environment: "mypurecloud.ie", admin: "admin" },
  ],
  adminCredentials: [{ name: "admin", environment: "mypurecloud.ie" }],
  schedule: { expression: "rate(90 days)" },
  alarmEmail: "ops@example.com",
});
export const vendorName: string = rotator.tokenVendor.function.functionName;
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
`;

/** What the project of an official-SDK user installs besides the tarball. */
const SDK_PROJECT_INSTALLED = ["purecloud-platform-client-v2", "typescript", "@types/node"] as const;

const SDK_CONSUMER = `import platformClient from "purecloud-platform-client-v2";
import type { TokenSource } from "genesys-oauth-rotator/client";
import { useVendedTokens } from "genesys-oauth-rotator/client/genesys-sdk";

type IsAny<T> = 0 extends 1 & T ? true : false;
export const typesResolved: false = false as IsAny<typeof useVendedTokens>;

/** One SDK call to apiBaseUrl with a vended token: its HTTP status. */
export async function call(apiBaseUrl: string): Promise<number> {
  const provider: TokenSource = {
    async getToken() {
      return {
        accessToken: "packed-sdk-token",
        tokenType: "Bearer",
        expiresAt: "2030-01-01T00:00:00.000Z",
        expiresInSeconds: 300,
        environment: "mypurecloud.ie",
        apiBaseUrl,
      };
    },
    invalidate() {},
  };
  const apiClient = new platformClient.ApiClientClass();
  apiClient.setReturnExtendedResponses(true);
  const detach = useVendedTokens(apiClient, { provider });
  try {
    const answer = (await new platformClient.OrganizationApi(apiClient).getOrganizationsMe()) as unknown;
    return (answer as { status: number }).status;
  } finally {
    detach();
  }
}
`;

const TSCONFIG_BASE = {
  target: "ES2022",
  lib: ["ES2023"],
  strict: true,
  skipLibCheck: true,
  types: ["node"],
};

describe("the packed package, installed outside the repository", { timeout: 600_000 }, () => {
  let workdir: string;
  let project: string;
  let tarballFile: string;

  before(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), "genesys-rotator-pack-"));
    project = path.join(workdir, "project");
    mkdirSync(project);
    // `npm pack` runs `prepack` (npm run build): the tarball holds a fresh dist/.
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", workdir], {
      cwd: ROOT,
      env: cleanEnvironment({ PATH: process.env.PATH ?? "" }),
      maxBuffer: 64 * 1024 * 1024,
    });
    const [packed] = JSON.parse(stdout) as [{ filename: string }];
    tarballFile = path.join(workdir, packed.filename);
    await installProject(project, tarballFile, INSTALLED);
    mkdirSync(path.join(project, "src"));
    writeFileSync(path.join(project, "src", "consumer.ts"), CONSUMER);
    writeFileSync(path.join(project, "src", "axios-consumer.ts"), AXIOS_CONSUMER);
    writeFileSync(path.join(project, "src", "notifications-consumer.ts"), NOTIFICATIONS_CONSUMER);
    writeFileSync(path.join(project, "src", "app.ts"), USER_APP);
  });
  after(() => {
    if (workdir !== undefined) rmSync(workdir, { recursive: true, force: true });
  });

  async function typeCheck(name: string, compilerOptions: Record<string, unknown>): Promise<void> {
    writeFileSync(
      path.join(project, name),
      JSON.stringify({ compilerOptions: { ...TSCONFIG_BASE, ...compilerOptions }, include: ["src"] }),
    );
    const tsc = path.join(project, "node_modules", ".bin", "tsc");
    await run(tsc, ["-p", name], { cwd: project, env: cleanEnvironment() }).catch(
      (error: { stdout?: string; stderr?: string }) => {
        assert.fail(`tsc -p ${name} failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
      },
    );
  }

  /** Type-checks src/ with moduleResolution nodenext and emits out/ (once; both tests need it). */
  let compiled: Promise<void> | undefined;
  function compileNodeNext(): Promise<void> {
    compiled ??= typeCheck("tsconfig.json", {
      module: "nodenext",
      moduleResolution: "nodenext",
      outDir: "out",
      rootDir: "src",
    });
    return compiled;
  }

  test("(a) a consumer Lambda type-checks and gets a token on the system Node and on Node 24", async (t) => {
    // The official SDK is an optional peer: the client entry loads without it.
    assert.equal(existsSync(path.join(project, "node_modules", "purecloud-platform-client-v2")), false);
    await compileNodeNext();
    await typeCheck("tsconfig.bundler.json", {
      module: "preserve",
      moduleResolution: "bundler",
      noEmit: true,
    });

    // dynalite: this checks the package, not DynamoDB fidelity (and starts in a fraction of the time).
    const stack: VendingStack = await startVendingStack({ preferDynalite: true });
    let emulator: LambdaEmulator | undefined;
    try {
      emulator = await startLambdaEmulator();
      // The vendor runs the bundle the package ships.
      await emulator.register("token-vending", {
        module: path.join(shippedVendingBundle(project), "index.mjs"),
        environment: { ...stack.environment, POWERTOOLS_LOG_LEVEL: "SILENT" },
        // One alias per credential, as TokenVendor deploys it.
        aliases: [...Object.keys(stack.credentials), "cache-warming"],
        // Cold starts are not under test; a loaded machine may need well over the default 10 s.
        initTimeoutMs: 120_000,
      });
      const script = path.join(project, "run-consumer.mjs");
      writeFileSync(
        script,
        [
          'import { handler } from "./out/consumer.js";',
          'import { axiosHandler } from "./out/axios-consumer.js";',
          "console.log(JSON.stringify({ ...(await handler()), axios: await axiosHandler() }));",
          "",
        ].join("\n"),
      );
      const env = cleanEnvironment({
        // What a consumer of one credential is given: the vendor's alias for it.
        TOKEN_VENDOR_FUNCTION_NAME: `token-vending:${VENDING_CREDENTIALS.app}`,
        AWS_ENDPOINT_URL_LAMBDA: emulator.url,
        AWS_REGION: LOCAL_AWS.region,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      });
      const node24 = path.join(ROOT, "node_modules", "node", "bin", "node");
      const outputs: string[] = [];
      for (const [node, major] of [
        [systemNode(), undefined],
        [node24, 24],
      ] as const) {
        const version = (await run(node, ["--version"], { env })).stdout.trim();
        const actualMajor = Number(/^v(\d+)\./.exec(version)?.[1]);
        assert.ok(actualMajor >= 20, `${node} is ${version}`);
        if (major !== undefined) assert.equal(actualMajor, major, `${node} is ${version}`);
        t.diagnostic(`consumer on ${node} ${version}`);
        const { stdout, stderr } = await run(node, [script], { cwd: project, env });
        outputs.push(stdout, stderr);
        const summary = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}");
        assert.deepEqual(
          { ...summary, expiresInSeconds: summary.expiresInSeconds > 0 },
          {
            status: 200,
            tokenType: "Bearer",
            expiresInSeconds: true,
            apiBaseUrl: stack.rotation.genesys.url,
            axios: { status: 200 },
          },
          `consumer on ${version}`,
        );
      }
      // The notifications entry: a channel on the stack's Genesys emulator, through the vendor. Node 20 has
      // no global WebSocket without --experimental-websocket (Node 22+ have it by default).
      const notificationsScript = path.join(project, "run-notifications.mjs");
      writeFileSync(
        notificationsScript,
        'import { listen } from "./out/notifications-consumer.js";\nconsole.log(JSON.stringify(await listen("v2.users.pack-test.presence")));\n',
      );
      for (const node of [systemNode(), node24]) {
        const major = Number(/^v(\d+)\./.exec((await run(node, ["--version"], { env })).stdout.trim())?.[1]);
        const flags = major < 22 ? ["--experimental-websocket", "--no-warnings"] : [];
        const { stdout, stderr } = await run(node, [...flags, notificationsScript], { cwd: project, env });
        outputs.push(stdout, stderr);
        assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}"), {
          state: "open",
          closedState: "closed",
        });
      }
      const installed = path.join(
        project,
        "node_modules",
        "genesys-oauth-rotator",
        "dist",
        "lambda",
        "client",
      );
      const client = moduleGraph(path.join(installed, "index.js"));
      assert.ok(
        ![...client.files].some((file) => file.endsWith(`${path.sep}notifications.js`)),
        "the client entry loads the notifications helper",
      );
      assert.deepEqual([...client.packages], ["@aws-sdk/client-lambda"]);
      assert.deepEqual(
        [...moduleGraph(path.join(installed, "notifications.js")).packages],
        ["@aws-sdk/client-lambda"],
      );
      const { LambdaClient } = await import("@aws-sdk/client-lambda");
      const lambdaClient = new LambdaClient({ ...LOCAL_AWS, endpoint: emulator.url });
      try {
        const { accessToken } = await new TokenProvider({
          functionName: `token-vending:${VENDING_CREDENTIALS.app}`,
          lambdaClient,
        }).getToken();
        assertNoSecrets(outputs.join("\n"), { "access token": [accessToken] });
      } finally {
        lambdaClient.destroy();
      }
    } finally {
      await emulator?.stop();
      await stack.stop();
    }
  });

  test("(b) a user CDK app with GenesysOAuthRotator synthesizes cdk-nag clean without esbuild", async () => {
    await compileNodeNext();
    assert.equal(existsSync(path.join(project, "node_modules", "esbuild")), false);
    // Any esbuild the CDK could find on PATH leaves a mark and fails.
    const fakeBin = path.join(workdir, "fake-bin");
    const mark = path.join(workdir, "esbuild-was-invoked");
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(path.join(fakeBin, "esbuild"), `#!/bin/sh\necho invoked > "${mark}"\nexit 1\n`);
    chmodSync(path.join(fakeBin, "esbuild"), 0o755);
    const outdir = path.join(workdir, "cdk.out");
    const env = cleanEnvironment({ CDK_OUTDIR: outdir });
    env.PATH = `${fakeBin}${path.delimiter}${env.PATH}`;
    await run(process.execPath, [path.join(project, "out", "app.js")], { cwd: project, env }).catch(
      (error: { stdout?: string; stderr?: string }) => {
        assert.fail(`synthesis failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
      },
    );
    assert.equal(existsSync(mark), false, "esbuild was invoked");

    const template = JSON.parse(readFileSync(path.join(outdir, "UserStack.template.json"), "utf8"));
    const resources = Object.values(template.Resources) as {
      Type: string;
      Properties: Record<string, unknown>;
    }[];
    assert.equal(resources.filter((r) => r.Type === "AWS::SecretsManager::Secret").length, 3);
    assert.equal(resources.filter((r) => r.Type === "AWS::SecretsManager::RotationSchedule").length, 3);
    const vendor = resources.find(
      (r) => r.Type === "AWS::Lambda::Function" && String(r.Properties.Description).includes("Vends"),
    );
    assert.ok(vendor);
    const credentials = JSON.parse(
      JSON.stringify(
        (vendor.Properties.Environment as { Variables: { CREDENTIALS: unknown } }).Variables.CREDENTIALS,
      ),
    );
    assert.match(JSON.stringify(credentials), /default.*reporting/);
    // The staged code is the bundle the package ships, byte for byte.
    const s3Key = String((vendor.Properties.Code as { S3Key: string }).S3Key);
    const staged = path.join(outdir, `asset.${s3Key.replace(/\.zip$/, "")}`);
    const shipped = shippedVendingBundle(project);
    assert.deepEqual(readdirSync(staged).sort(), readdirSync(shipped).sort());
    assert.ok(
      readFileSync(path.join(staged, "index.mjs")).equals(readFileSync(path.join(shipped, "index.mjs"))),
    );
  });

  test("(e) genesys-oauth-rotator/client/genesys-sdk works with the official SDK installed beside it", async (t) => {
    const sdkProject = path.join(workdir, "sdk-project");
    mkdirSync(path.join(sdkProject, "src"), { recursive: true });
    await installProject(sdkProject, tarballFile, SDK_PROJECT_INSTALLED);
    writeFileSync(path.join(sdkProject, "src", "sdk-consumer.ts"), SDK_CONSUMER);
    writeFileSync(
      path.join(sdkProject, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          ...TSCONFIG_BASE,
          module: "nodenext",
          moduleResolution: "nodenext",
          outDir: "out",
          rootDir: "src",
        },
        include: ["src"],
      }),
    );
    await run(path.join(sdkProject, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], {
      cwd: sdkProject,
      env: cleanEnvironment(),
    }).catch((error: { stdout?: string; stderr?: string }) => {
      assert.fail(`tsc failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    });
    const script = path.join(sdkProject, "run-sdk-consumer.mjs");
    writeFileSync(
      script,
      'import { call } from "./out/sdk-consumer.js";\nconsole.log(JSON.stringify({ status: await call(process.argv[2]) }));\n',
    );

    // The Platform API: what each request carried.
    const seen: Array<string | undefined> = [];
    const server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { "content-type": "application/json" });
      response.end('{"id":"org","name":"Packed"}');
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const apiBaseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const node24 = path.join(ROOT, "node_modules", "node", "bin", "node");
      for (const node of [systemNode(), node24]) {
        const version = (await run(node, ["--version"])).stdout.trim();
        t.diagnostic(`SDK consumer on ${node} ${version}`);
        const { stdout } = await run(node, [script, apiBaseUrl], {
          cwd: sdkProject,
          env: cleanEnvironment(),
        });
        assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}"), { status: 200 }, version);
      }
      assert.deepEqual(seen, ["Bearer packed-sdk-token", "Bearer packed-sdk-token"]);
    } finally {
      server.close();
    }
  });

  test("(c) the tarball holds dist/ and LICENSE, not the repository's tests, stand-ins or sources", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: ROOT,
      env: cleanEnvironment({ PATH: process.env.PATH ?? "" }),
      maxBuffer: 64 * 1024 * 1024,
    });
    const [listing] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    const files = listing.files.map((file) => file.path);
    for (const required of [
      "LICENSE",
      "README.md",
      "CHANGELOG.md",
      "SECURITY.md",
      "package.json",
      "dist/lib/index.js",
      "dist/lib/index.d.ts",
      "dist/lambda/client/index.js",
      "dist/lambda/client/index.d.ts",
      "dist/lambda/client/axios.js",
      "dist/lambda/client/axios.d.ts",
      "dist/lambda/client/genesys-sdk.js",
      "dist/lambda/client/genesys-sdk.d.ts",
      "dist/lambda/client/notifications.js",
      "dist/lambda/client/notifications.d.ts",
      "dist/functions/vending/index.mjs",
      "dist/functions/rotation/index.mjs",
    ]) {
      assert.ok(files.includes(required), `${required} is missing from the tarball`);
    }
    const unwanted = files.filter(
      (file) =>
        /^(test|local|\.ci|docs|lib|scripts|node_modules|cdk\.out)\//.test(file) ||
        /^lambda\//.test(file) ||
        (file.endsWith(".ts") && !file.endsWith(".d.ts")),
    );
    assert.deepEqual(unwanted, []);
    // And the tarball that was installed is that listing.
    assert.ok(existsSync(tarballFile));
  });

  test("(d) both client entries load without axios installed", async () => {
    const installed = path.join(project, "node_modules", "axios");
    const hidden = path.join(project, "node_modules", ".axios-hidden");
    renameSync(installed, hidden);
    try {
      const script = [
        'const client = await import("genesys-oauth-rotator/client");',
        'const adapter = await import("genesys-oauth-rotator/client/axios");',
        'const axiosMissing = await import("axios").then(() => false, (error) => error.code === "ERR_MODULE_NOT_FOUND");',
        "console.log(JSON.stringify({ client: typeof client.genesysFetch, adapter: typeof adapter.attachGenesysAuth, axiosMissing }));",
      ].join("\n");
      const { stdout } = await run(systemNode(), ["--input-type=module", "-e", script], {
        cwd: project,
        env: cleanEnvironment(),
      });
      assert.deepEqual(JSON.parse(stdout.trim()), {
        client: "function",
        adapter: "function",
        axiosMissing: true,
      });
    } finally {
      renameSync(hidden, installed);
    }
  });
});
