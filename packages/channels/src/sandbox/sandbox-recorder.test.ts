import { describe, expect, it } from 'vitest';
import { memoryRecorder, type SandboxRecord } from './sandbox-recorder';

const entry = (i: number, recipient: string): SandboxRecord => ({
  deliveryId: String(1000 + i),
  channel: 'sms',
  recipient,
  content: { text: `【广州发改】消息 ${i}`, segments: 1 },
  outcome: 'accepted',
});

describe('memoryRecorder', () => {
  it('keeps entries in order until cleared', async () => {
    const recorder = memoryRecorder();
    recorder.record(entry(1, 'a'));
    recorder.record(entry(2, 'b'));
    await recorder.flush();
    expect(recorder.entries.map((e) => e.recipient)).toEqual(['a', 'b']);
    recorder.clear();
    expect(recorder.entries).toEqual([]);
  });
});
