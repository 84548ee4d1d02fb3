import { describe, expect, it } from 'vitest';
import { MAX_SCENE_LENGTH, signBindingScene, verifyBindingScene } from './binding-scene';

const SECRET = 'a-signing-secret-of-at-least-32-characters';
const now = new Date('2024-05-06T00:00:00Z');
const later = new Date('2024-05-13T00:00:00Z');

describe('binding scenes', () => {
  it('names the contact, fits WeChat’s 64 characters even for the largest id', () => {
    const scene = signBindingScene(SECRET, 42, later);
    expect(scene).toMatch(/^b\.42\.[0-9a-z]+\.[A-Za-z0-9_-]{16}$/);
    expect(verifyBindingScene(SECRET, scene, now)).toBe(42);
    expect(signBindingScene(SECRET, '999999999999999', new Date('2999-12-31T00:00:00Z')).length).toBeLessThanOrEqual(MAX_SCENE_LENGTH);
  });

  it('refuses a scene that names another contact', () => {
    const scene = signBindingScene(SECRET, 42, later);
    expect(verifyBindingScene(SECRET, scene.replace('b.42.', 'b.43.'), now)).toBeNull();
  });

  it('refuses a forged or altered scene', () => {
    const scene = signBindingScene(SECRET, 42, later);
    expect(verifyBindingScene('another-secret-of-at-least-32-characters', scene, now)).toBeNull();
    const mac = scene.slice(-16);
    const flipped = scene.slice(0, -16) + (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    expect(verifyBindingScene(SECRET, flipped, now)).toBeNull();
    const longer = signBindingScene(SECRET, 42, new Date(later.getTime() + 86_400_000));
    expect(verifyBindingScene(SECRET, `${longer.split('.').slice(0, 3).join('.')}.${mac}`, now)).toBeNull();
    for (const junk of ['', 'b.42', 'qrscene_b.42.x.y', 'b.0.abc.AAAAAAAAAAAAAAAA', `${scene}.x`, 'x'.repeat(100)]) {
      expect(verifyBindingScene(SECRET, junk, now)).toBeNull();
    }
  });

  it('refuses an expired scene', () => {
    const scene = signBindingScene(SECRET, 42, later);
    expect(verifyBindingScene(SECRET, scene, new Date(later.getTime() - 1000))).toBe(42);
    expect(verifyBindingScene(SECRET, scene, later)).toBeNull();
  });

  it('signs only positive integer ids', () => {
    expect(() => signBindingScene(SECRET, 0, later)).toThrow();
    expect(() => signBindingScene(SECRET, '12.5', later)).toThrow();
  });
});
