// The one flag parser of every binary (controller, speaker, metallbctl). It takes the syntax of
// Go's flag package, which upstream's manifests use, and GNU-style long options alike:
//   -port=7472  -port 7472  --port=7472  --port 7472      string flags
//   -flag  --flag  -flag=false  --flag=true               booleans (never take the next argument)
//   -o FILE  -o=FILE                                      short aliases where a flag has one
//   --                                                    everything after it is positional
// Boolean values are Go's strconv.ParseBool set (1 t T TRUE true True / 0 f F FALSE false False).
// The last occurrence of a flag wins, as in Go. Errors are FlagError with Go's wording.

export type FlagSpec =
  | { readonly type: 'string'; readonly default?: string; readonly short?: string }
  | { readonly type: 'boolean'; readonly default?: boolean; readonly short?: string };

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type ValueOf<F extends FlagSpec> = F extends { type: 'boolean' } ? boolean : string;

/** Parsed values: flags with a default are always set, the others only when given. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]: S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export interface ParsedFlags<S extends FlagSpecs> {
  values: FlagValues<S>;
  positionals: string[];
}

export interface ParseOptions {
  /** Allow arguments that are not flags (anywhere on the line); default false: they are errors. */
  positionals?: boolean;
}

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Parses `argv` against `specs`; throws FlagError on unknown flags, missing or invalid values. */
export function parseFlags<S extends FlagSpecs>(argv: readonly string[], specs: S, opts: ParseOptions = {}): ParsedFlags<S> {
  const byName = new Map<string, [string, FlagSpec]>();
  for (const [name, spec] of Object.entries(specs)) {
    byName.set(name, [name, spec]);
    if (spec.short) byName.set(spec.short, [name, spec]);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) if (spec.default !== undefined) values[name] = spec.default;
  const positionals: string[] = [];
  const positional = (arg: string): void => {
    if (!opts.positionals) throw new FlagError(`unexpected argument "${arg}" (this command takes flags only)`);
    positionals.push(arg);
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      for (const rest of argv.slice(i + 1)) positional(rest);
      break;
    }
    if (arg.length < 2 || !arg.startsWith('-')) {
      positional(arg);
      continue;
    }
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (body === '' || body.startsWith('-') || body.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const given = eq < 0 ? body : body.slice(0, eq);
    const found = byName.get(given);
    if (!found) throw new FlagError(`flag provided but not defined: -${given}`);
    const [name, spec] = found;
    if (spec.type === 'boolean') {
      if (eq < 0) {
        values[name] = true;
      } else {
        const v = body.slice(eq + 1);
        if (BOOL_TRUE.has(v)) values[name] = true;
        else if (BOOL_FALSE.has(v)) values[name] = false;
        else throw new FlagError(`invalid boolean value "${v}" for -${given}`);
      }
      continue;
    }
    if (eq >= 0) {
      values[name] = body.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${given}`);
      values[name] = argv[++i]!;
    }
  }
  return { values: values as FlagValues<S>, positionals };
}
