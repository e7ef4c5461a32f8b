// `npm run bench [name…]`: runs the registered benchmarks (all when none is named). Each
// bench prints its own table; they are not part of `npm test` (real servers, minutes long).

type Bench = () => Promise<void>;

const BENCHES: Record<string, Bench> = {
  gateway: async () => (await import('./gateway.js')).runGatewayBench(),
  verify: async () => (await import('./verify.js')).runVerifyBench(),
  tls: async () => (await import('./tls.js')).runTlsBench(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown bench(es): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}\n`,
  );
  process.exitCode = 2;
} else {
  for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
    process.stdout.write(`\n== bench: ${name} ==\n`);
    await (BENCHES[name] as Bench)();
  }
}
