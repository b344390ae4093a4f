// Bundles the viewer front end (Cornerstone3D and its WASM codecs) with esbuild.
//
// Output: ../src/dicomseal/viewer/static/dist/ -- reader-boot.js, reader-first.js and
// reader.js (the page scripts), reader-tools.js and reader-<hash>.js chunks (loaded by reader.js),
// decode-worker.js (the dicom-image-loader's decoding web worker) and the codecs' .wasm
// files, all addressed relative to the bundle (no CDN, nothing fetched at run time from
// anywhere but the viewer itself). The output is deterministic: a rebuild from
// package-lock.json gives the same bytes (checked by tests/viewer/test_frontend_bundle.py).
import * as esbuild from 'esbuild';
import { createRequire } from 'node:module';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '..', 'src', 'dicomseal', 'viewer', 'static', 'dist'));
const require = createRequire(import.meta.url);

// The codecs each decoder loads, by the bare specifier in `new URL(spec, import.meta.url)`.
const WASM = {
  '@cornerstonejs/codec-charls/decodewasm': 'codec-charls/dist/charlswasm_decode.wasm',
  '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm':
    'codec-libjpeg-turbo-8bit/dist/libjpegturbowasm_decode.wasm',
  '@cornerstonejs/codec-openjpeg/decodewasm': 'codec-openjpeg/dist/openjpegwasm_decode.wasm',
};
const NODE_BUILTINS = ['fs', 'path', 'crypto', 'module', 'url', 'worker_threads', 'ws'];

// The loader's JavaScript JPEG decoder (process 2/4, used for 12-bit JPEG Extended) writes
// the IDCT output, which is 16x the sample value, with the 8-bit constants of pdf.js scaled
// by 4095/255: the level shift plus rounding (128 * 16 + 8 = 2056) becomes 2056 * 4095 / 255,
// i.e. 2063.6 instead of 2048.5 per sample after the shift, and every 12-bit pixel comes out
// ~15 too high (ITU-T T.81 A.3.1: the level shift is 2^(P-1)). The fix writes the same stage
// for any precision P; for P = 8 it is the original expression, constant for constant.
const JPEG_OUTPUT_STAGE = `        q =
            q <= -2056 / component.bitConversion
                ? 0
                : q >= 2024 / component.bitConversion
                    ? 255 / component.bitConversion
                    : (q + 2056 / component.bitConversion) >> 4;`;
const JPEG_OUTPUT_STAGE_FIXED = `        var top = Math.round(255 / component.bitConversion);
        var shift = (top + 1) * 8;
        q = q <= -shift - 8 ? 0 : q >= top * 16 - shift - 8 ? top : (q + shift + 8) >> 4;`;

function fixJpegLevelShift(text) {
  if (!text.includes(JPEG_OUTPUT_STAGE)) {
    throw new Error('codecs/jpeg.js: the output stage to fix was not found (loader upgraded?)');
  }
  return text.split(JPEG_OUTPUT_STAGE).join(JPEG_OUTPUT_STAGE_FIXED);
}

const rewrite = {
  name: 'dicomseal-rewrite',
  setup(build) {
    // HTJ2K is not a DICOM media transfer syntax of PS3.11 profiles; its 2 MB codec is left out.
    build.onLoad({ filter: /dicom-image-loader[\\/]dist[\\/]esm[\\/]shared[\\/]decoders[\\/]decodeHTJ2K\.js$/ }, () => ({
      contents:
        'export function initialize() { return Promise.resolve(); }\n' +
        'export default async function decodeHTJ2K() { throw new Error("HTJ2K is not supported by this viewer"); }\n',
      loader: 'js',
    }));
    build.onLoad({ filter: /dicom-image-loader[\\/]dist[\\/]esm[\\/].*\.js$/ }, (args) => {
      let text = readFileSync(args.path, 'utf8');
      if (/[\\/]codecs[\\/]jpeg\.js$/.test(args.path)) text = fixJpegLevelShift(text);
      for (const [spec, file] of Object.entries(WASM)) {
        const name = file.split('/').pop();
        text = text.split(`new URL('${spec}', import.meta.url)`).join(`new URL('./${name}', import.meta.url)`);
      }
      text = text
        .split("new URL('./decodeImageFrameWorker.js', import.meta.url)")
        .join("new URL('./decode-worker.js', import.meta.url)");
      return { contents: text, loader: 'js' };
    });
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'chrome110',
  minify: true,
  legalComments: 'none',
  external: NODE_BUILTINS,
  plugins: [rewrite],
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// reader.js draws the first image; reader-tools.js (the interaction tools) is imported by it
// once that image is on screen; the code both use is in reader-<hash>.js chunks (the hash
// is of the content, so a rebuild gives the same names). reader-boot.js has no imports.
const split = await esbuild.build({
  ...common,
  entryPoints: { reader: join(here, 'src', 'reader.js'), 'reader-tools': join(here, 'src', 'tools.js') },
  splitting: true,
  outdir: out,
  chunkNames: 'reader-[hash]',
  metafile: true,
});
// reader-boot.js asks for reader.js's chunks at once (modulepreload), instead of the browser
// finding them only once reader.js itself has been fetched and parsed.
const readerOut = Object.entries(split.metafile.outputs).find(([, o]) => o.entryPoint?.endsWith('src/reader.js'));
const chunks = readerOut[1].imports.filter((i) => i.kind === 'import-statement').map((i) => basename(i.path));
await esbuild.build({
  ...common,
  entryPoints: [join(here, 'src', 'boot.js')],
  outfile: join(out, 'reader-boot.js'),
  define: { ...common.define, READER_CHUNKS: JSON.stringify(chunks) },
});
// reader-first.js draws the first image from the bytes reader-boot.js asked for, before
// reader.js is in (dicom-parser and the first paint only; no imports at run time).
await esbuild.build({
  ...common,
  entryPoints: [join(here, 'src', 'first.js')],
  outfile: join(out, 'reader-first.js'),
});
await esbuild.build({
  ...common,
  entryPoints: [join(here, 'node_modules', '@cornerstonejs', 'dicom-image-loader', 'dist', 'esm', 'decodeImageFrameWorker.js')],
  outfile: join(out, 'decode-worker.js'),
});
for (const file of Object.values(WASM)) {
  const target = join(out, file.split('/').pop());
  copyFileSync(join(here, 'node_modules', '@cornerstonejs', file), target);
  chmodSync(target, 0o644);
}
console.log(`viewer front end built in ${out}`);
