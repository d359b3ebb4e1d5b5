// Types for the part of the espeak-ng npm package (an Emscripten build of
// the espeak-ng command line, MODULARIZE=1) that the synthesis worker uses.
declare module "espeak-ng" {
  export interface ESpeakNgModule {
    FS: {
      readFile(path: string): Uint8Array;
      writeFile(path: string, data: string | Uint8Array): void;
    };
  }
  export interface ESpeakNgOptions {
    /** argv of the espeak-ng command, without the program name. */
    arguments: string[];
    print?: (text: string) => void;
    printErr?: (text: string) => void;
    /** Instantiates a precompiled module instead of reading and compiling the .wasm file each time. */
    // (Typed loosely: the project's lib settings have no WebAssembly types.)
    instantiateWasm?: (imports: object, done: (instance: object, module: object) => object) => object;
  }
  export default function ESpeakNg(options: ESpeakNgOptions): Promise<ESpeakNgModule>;
}
