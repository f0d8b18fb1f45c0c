// ESLint rule p2pshare/no-hardcoded-text: words for people come from the catalogues
// (web/i18n/*.json through web/js/i18n.js), never from a string in the code. It reports a
// string or template literal with letters in it where the page shows text:
//   - assigned to textContent, innerText, title, placeholder, alt, ariaLabel (and document.title);
//   - any value at all assigned to innerHTML / outerHTML, or passed to insertAdjacentHTML
//     (catalogue text, like peer text, only ever goes in as textContent);
//   - setAttribute('aria-label' | 'title' | 'placeholder' | 'alt' | 'aria-description', literal);
//   - the text arguments of the functions that show words: notice, showMessage, setState,
//     setText, setStatus, movePhase, fail, problem, hint, button, alert, confirm, prompt;
//   - append / prepend / createTextNode of a literal (a text node), and `label:` in actions.
// A literal without letters (punctuation, '', '…') and the allow-list below pass.

const TEXT_PROPERTIES = new Set(['textContent', 'innerText', 'title', 'placeholder', 'alt', 'ariaLabel', 'ariaDescription']);
const HTML_PROPERTIES = new Set(['innerHTML', 'outerHTML']);
const TEXT_ATTRIBUTES = new Set(['aria-label', 'title', 'placeholder', 'alt', 'aria-description', 'aria-roledescription']);
/** function name -> the argument positions that are words for people */
const TEXT_ARGUMENTS = new Map([
  ['notice', [1]],
  ['showMessage', [0, 1]],
  ['setState', [1]],
  ['setText', [1]],
  ['setStatus', [1]],
  ['movePhase', [1]],
  ['fail', [0]],
  ['problem', [0]],
  ['hint', [0]],
  ['button', [0]],
  ['alert', [0]],
  ['confirm', [0]],
  ['prompt', [0]],
  ['append', 'all'],
  ['prepend', 'all'],
  ['createTextNode', [0]],
]);
/** Not words to translate: the product's name. */
const ALLOWED = new Set(['p2pshare']);
const LETTERS = /\p{L}{2,}/u;

function literalText(node) {
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral') return node.quasis.map((q) => q.value.cooked ?? '').join('');
  return null;
}

/** The literals an expression can evaluate to (through ?:, ||, ??, +). */
function literals(node) {
  if (!node) return [];
  switch (node.type) {
    case 'ConditionalExpression':
      return [...literals(node.consequent), ...literals(node.alternate)];
    case 'LogicalExpression':
      return [...literals(node.left), ...literals(node.right)];
    case 'BinaryExpression':
      return node.operator === '+' ? [...literals(node.left), ...literals(node.right)] : [];
    default:
      return literalText(node) === null ? [] : [node];
  }
}

function isWords(node) {
  const text = literalText(node);
  return text !== null && LETTERS.test(text) && !ALLOWED.has(text.trim());
}

function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression' && !callee.computed && callee.property.type === 'Identifier') return callee.property.name;
  return null;
}

function propertyName(member) {
  if (member.type !== 'MemberExpression') return null;
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.computed && member.property.type === 'Literal') return String(member.property.value);
  return null;
}

export const noHardcodedText = {
  meta: {
    type: 'problem',
    docs: { description: 'words shown to people come from web/i18n catalogues (t, msg, localize), not string literals' },
    messages: {
      text: 'Text shown to people must come from the catalogue (web/i18n/en.json via t/msg/localize): {{text}}',
      html: 'No {{what}}: catalogue and peer text only ever go in as textContent.',
    },
    schema: [],
  },
  create(context) {
    const report = (node) => {
      for (const literal of literals(node)) {
        if (isWords(literal)) {
          context.report({ node: literal, messageId: 'text', data: { text: JSON.stringify(literalText(literal).slice(0, 60)) } });
        }
      }
    };
    return {
      AssignmentExpression(node) {
        const name = propertyName(node.left);
        if (name && HTML_PROPERTIES.has(name)) context.report({ node, messageId: 'html', data: { what: name } });
        else if (name && TEXT_PROPERTIES.has(name)) report(node.right);
      },
      CallExpression(node) {
        const name = calleeName(node.callee);
        if (!name) return;
        if (name === 'insertAdjacentHTML') {
          context.report({ node, messageId: 'html', data: { what: name } });
          return;
        }
        if (name === 'setAttribute' && node.arguments.length === 2) {
          const attribute = literalText(node.arguments[0]);
          if (attribute && TEXT_ATTRIBUTES.has(attribute.toLowerCase())) report(node.arguments[1]);
          return;
        }
        const positions = TEXT_ARGUMENTS.get(name);
        if (!positions) return;
        const args = positions === 'all' ? node.arguments : positions.map((i) => node.arguments[i]);
        for (const arg of args) report(arg);
      },
      Property(node) {
        if (!node.computed && node.key.type === 'Identifier' && node.key.name === 'label') report(node.value);
      },
    };
  },
};

export default { rules: { 'no-hardcoded-text': noHardcodedText } };
