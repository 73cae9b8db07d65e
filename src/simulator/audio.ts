// Audio understanding, simulated: audio parts (inlineData with an audio/* type) in the last user turn
// are "transcribed" deterministically as "transcript of <N> bytes of <type>". An instruction asking for
// timestamps (or SRT / VTT) gets the same words as two timestamped lines "[MM:SS.mmm --> MM:SS.mmm] …"
// over the audio's length (a WAV header's, else 2 s per part), after a line "language: en" when the
// instruction asks for one ("language: xx").

export interface AudioInput {
  mimeType: string;
  bytes: number;
  /** seconds, from a WAV header; undefined for other formats */
  duration?: number;
}

const DEFAULT_SECONDS = 2;

/** the audio parts of the last user turn (either field spelling) */
export function lastUserAudio(contents: any[]): AudioInput[] {
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i];
    if (!c || c.role === "model" || !Array.isArray(c.parts)) continue;
    const out: AudioInput[] = [];
    for (const p of c.parts) {
      const d = p?.inlineData ?? p?.inline_data;
      const mimeType = String(d?.mimeType ?? d?.mime_type ?? "");
      if (!mimeType.toLowerCase().startsWith("audio/") || typeof d?.data !== "string") continue;
      const raw = Buffer.from(d.data, "base64");
      out.push({ mimeType, bytes: raw.length, duration: wavSeconds(raw) });
    }
    return out;
  }
  return [];
}

function wavSeconds(b: Uint8Array): number | undefined {
  const tag = (at: number) => String.fromCharCode(...b.subarray(at, at + 4));
  if (b.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let rate = 0;
  for (let at = 12; at + 8 <= b.length;) {
    const size = v.getUint32(at + 4, true);
    if (tag(at) === "fmt " && at + 20 <= b.length) rate = v.getUint32(at + 16, true);
    if (tag(at) === "data") return rate ? Math.min(size, b.length - at - 8) / rate : undefined;
    at += 8 + size + (size & 1);
  }
  return undefined;
}

const mmss = (s: number) => {
  const ms = Math.round(s * 1000);
  return `${String(Math.floor(ms / 60000)).padStart(2, "0")}:${String(Math.floor(ms / 1000) % 60).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
};

/** the transcript of `audio` as `instruction` asks for it */
export function transcribe(audio: AudioInput[], instruction: string): string {
  const text = audio.map((a) => `transcript of ${a.bytes} bytes of ${a.mimeType}`).join(" ");
  if (!/timestamp|\bsrt\b|\b(web)?vtt\b/i.test(instruction)) return text;
  const total = audio.reduce((s, a) => s + (a.duration ?? DEFAULT_SECONDS), 0);
  const words = text.split(" ");
  const half = Math.ceil(words.length / 2);
  const lines = [
    `[${mmss(0)} --> ${mmss(total / 2)}] ${words.slice(0, half).join(" ")}`,
    `[${mmss(total / 2)} --> ${mmss(total)}] ${words.slice(half).join(" ")}`,
  ];
  if (/\blanguage:\s*xx\b/i.test(instruction)) lines.unshift("language: en");
  return lines.join("\n");
}
