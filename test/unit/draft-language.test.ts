import { describe, expect, it } from 'vitest';
import { detectLanguage } from '../../src/pipeline/drafting/language.ts';
import { draftOffline } from '../../src/pipeline/drafting/offline.ts';
import { ctx, directory, draftInput } from '../helpers/draft-input.ts';

describe('language', () => {
  it.each([
    ['en', 'Hi, our export does not work since the update. Can you check what is wrong?'],
    ['de', 'Hallo, unser Export funktioniert seit dem Update nicht mehr. Können Sie prüfen, was los ist?'],
    ['es', 'Hola, nuestra exportación no funciona desde la actualización. ¿Pueden revisar qué pasa?'],
    [
      'fr',
      'Bonjour, notre export ne fonctionne plus depuis la mise à jour. Pouvez-vous vérifier ce qui se passe ?',
    ],
    [
      'pt',
      'Olá, a nossa exportação não funciona desde a atualização. Vocês podem verificar o que está acontecendo?',
    ],
    [
      'it',
      "Ciao, la nostra esportazione non funziona più dopo l'aggiornamento. Potete controllare che cosa è successo?",
    ],
  ])('detects %s', (lang, text) => {
    expect(detectLanguage(text)).toBe(lang);
  });

  it('writes the draft in the ticket language; facts (names, statuses, errors) stay as they are', () => {
    const d = draftOffline(
      draftInput(
        'Shopify-Bestellungen fehlen',
        'Seit gestern kommen keine Bestellungen von Shopify mehr an. Was ist los?',
        [
          directory('Acme', 'pro'),
          ctx('integrations', {
            shopify: { status: 'error', lastError: 'invalid token', direction: 'inbound' },
          }),
        ],
        { name: 'Jana Vogel' },
      ),
    );
    expect(d.language).toBe('de');
    expect(d.reply).toMatch(/^Hallo Jana,/);
    expect(d.reply).toContain('Ihre Shopify-Integration hat den Status „error“');
    expect(d.reply).toContain('„invalid token“');
    expect(d.reply).toContain('erreichen uns keine Daten von Shopify');
    expect(d.reply).toMatch(/Viele Grüße$/);
  });

  it('a language it does not write: an English draft and a note that it needs translation', () => {
    const d = draftOffline(
      draftInput(
        'Esportazione',
        "Ciao, la nostra esportazione non funziona più dopo l'aggiornamento. Potete controllare che cosa è successo?",
        [directory('Acme', 'pro')],
      ),
    );
    expect(d.language).toBe('en');
    expect(d.reply).toMatch(/^Hi Sam,/);
    expect(d.needsHumanReason).toMatch(/Italian; this draft is in English and needs translation/);
  });
});
