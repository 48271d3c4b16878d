// AudioWorklet: microphone float32 at the context rate -> 16 kHz little-endian int16 frames.
// A box filter over each output period (width = inRate / outRate input samples) both
// low-passes and decimates, which is enough for speech; frames of `frameMs` are posted to the
// page as transferable ArrayBuffers.
class S2STCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const opts = (options && options.processorOptions) || {};
    this.outRate = opts.targetRate || 16000;
    this.ratio = sampleRate / this.outRate;
    this.frame = new Int16Array(Math.round((this.outRate * (opts.frameMs || 100)) / 1000));
    this.filled = 0;
    this.acc = 0;
    this.count = 0;
    this.phase = 0;
    this.running = true;
    // "stop": hand over the partial frame, then "stopped" (nothing is posted after it).
    this.port.onmessage = (e) => {
      if (e.data !== "stop" || !this.running) return;
      this.running = false;
      if (this.filled > 0) {
        const out = this.frame.slice(0, this.filled);
        this.port.postMessage(out.buffer, [out.buffer]);
        this.filled = 0;
      }
      this.port.postMessage("stopped");
    };
  }

  push(value) {
    const v = Math.max(-1, Math.min(1, value));
    this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
    if (this.filled === this.frame.length) {
      const out = this.frame.slice();
      this.port.postMessage(out.buffer, [out.buffer]);
      this.filled = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!this.running) return false;
    if (!input || input.length === 0) return true;
    const ch = input[0];
    for (let i = 0; i < ch.length; i++) {
      this.acc += ch[i];
      this.count++;
      this.phase += 1;
      if (this.phase >= this.ratio) {
        this.phase -= this.ratio;
        this.push(this.acc / this.count);
        this.acc = 0;
        this.count = 0;
      }
    }
    return true;
  }
}

registerProcessor("s2st-capture", S2STCapture);
