// Every way a byte stream can arrive: incremental decoders must give the same answer for each
// two-piece split of a sample and for a one-byte-at-a-time feed — TCP may cut a record, a
// header or a chunk-size line anywhere.

/** [whole], then [a, b] for every split point, then one Buffer per byte. */
export function* chunkings(sample: Buffer): Generator<{ name: string; chunks: Buffer[] }> {
  yield { name: 'whole', chunks: [sample] };
  for (let at = 1; at < sample.length; at++) {
    yield { name: `split at ${at}`, chunks: [sample.subarray(0, at), sample.subarray(at)] };
  }
  const bytes: Buffer[] = [];
  for (let i = 0; i < sample.length; i++) bytes.push(sample.subarray(i, i + 1));
  yield { name: 'one byte at a time', chunks: bytes };
}
