using System.Globalization;

namespace IoTPilots.Rules;

/// <summary>
/// A small arithmetic expression over a device's fields, as a derived signal declares it in a rules file:
/// numbers, field names (snake_case; <c>field@sibling</c> reads the field of a sibling device, see
/// <see cref="SiblingOf"/>), <c>+ - * /</c>, <c>^</c> (power, right-associative), parentheses, unary minus,
/// and the functions of <see cref="Functions"/>. Parsed once at load (<see cref="Parse"/> throws
/// <see cref="FormatException"/> with the column of the mistake); evaluated per reading time. Pure.
/// </summary>
public sealed class Expression
{
    /// <summary>The functions an expression may call, with their number of arguments.</summary>
    public static readonly IReadOnlyDictionary<string, int> Functions = new Dictionary<string, int>
    {
        ["log10"] = 1,
        ["ln"] = 1,
        ["exp"] = 1,
        ["sqrt"] = 1,
        ["abs"] = 1,
        ["min"] = 2,
        ["max"] = 2,
        ["nh3_fraction"] = 3,
        ["zone"] = 4,
    };

    /// <summary>
    /// The ISO 10816 zone of a vibration velocity as a number, 1 = A … 4 = D, given the A/B, B/C and C/D boundaries
    /// (docs/domain.md section 3 [V1]: group 1 rigid or group 2 flexible 2.3 / 4.5 / 7.1 mm/s). A value on a
    /// boundary is in the upper zone, as the zone alert rules' <c>above</c> is not.
    /// </summary>
    public static double Zone(double value, double ab, double bc, double cd) =>
        value >= cd ? 4 : value >= bc ? 3 : value >= ab ? 2 : 1;

    private readonly Node _root;

    private Expression(string text, Node root, IReadOnlyList<string> fields)
    {
        Text = text;
        _root = root;
        Fields = fields;
    }

    public string Text { get; }

    /// <summary>The fields the expression reads, in order of first use.</summary>
    public IReadOnlyList<string> Fields { get; }

    /// <summary>The value, or NaN/infinity for arithmetic without a value (a division by zero): the caller drops it.</summary>
    public double Evaluate(Func<string, double> field) => _root.Evaluate(field);

    public override string ToString() => Text;

    /// <summary>
    /// The device a <c>field@sibling</c> input is read from: the device's own name with its last '-' part replaced by
    /// <paramref name="sibling"/> (<c>power_kw@meter</c> on <c>furnace-1-aux</c> reads <c>furnace-1-meter</c>), the
    /// naming of the devices of one machine in the inventories; a device without a '-' has no siblings.
    /// </summary>
    public static string? SiblingOf(string device, string sibling)
    {
        var dash = device.LastIndexOf('-');
        return dash < 0 ? null : device[..(dash + 1)] + sibling;
    }

    /// <summary>Splits an input name into its field and, for <c>field@sibling</c>, the sibling's suffix.</summary>
    public static (string Field, string? Sibling) Input(string name)
    {
        var at = name.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (name, null) : (name[..at], name[(at + 1)..]);
    }

    /// <exception cref="FormatException">The text is not an expression; the message names the column (from 1).</exception>
    public static Expression Parse(string text)
    {
        var parser = new Parser(text);
        var root = parser.Sum();
        parser.Skip();
        if (parser.Position < text.Length)
        {
            throw parser.Error($"unexpected '{text[parser.Position]}'");
        }

        return new Expression(text, root, parser.Fields);
    }

    private abstract record Node
    {
        public abstract double Evaluate(Func<string, double> field);
    }

    private sealed record Number(double Value) : Node
    {
        public override double Evaluate(Func<string, double> field) => Value;
    }

    private sealed record Field(string Name) : Node
    {
        public override double Evaluate(Func<string, double> field) => field(Name);
    }

    private sealed record Negate(Node Operand) : Node
    {
        public override double Evaluate(Func<string, double> field) => -Operand.Evaluate(field);
    }

    private sealed record Binary(char Op, Node Left, Node Right) : Node
    {
        public override double Evaluate(Func<string, double> field)
        {
            var (a, b) = (Left.Evaluate(field), Right.Evaluate(field));
            return Op switch
            {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                '/' => a / b,
                _ => Math.Pow(a, b),
            };
        }
    }

    private sealed record Call(string Name, IReadOnlyList<Node> Args) : Node
    {
        public override double Evaluate(Func<string, double> field)
        {
            var a = Args.Select(x => x.Evaluate(field)).ToArray();
            return Name switch
            {
                "log10" => Math.Log10(a[0]),
                "ln" => Math.Log(a[0]),
                "exp" => Math.Exp(a[0]),
                "sqrt" => Math.Sqrt(a[0]),
                "abs" => Math.Abs(a[0]),
                "min" => Math.Min(a[0], a[1]),
                "max" => Math.Max(a[0], a[1]),
                "zone" => Zone(a[0], a[1], a[2], a[3]),
                _ => Ammonia.UnionizedFraction(a[0], a[1], a[2]),
            };
        }
    }

    /// <summary>Recursive descent: sum := product (('+'|'-') product)*; product := power (('*'|'/') power)*; power := unary ('^' power)?.</summary>
    private sealed class Parser(string text)
    {
        private readonly List<string> _fields = [];

        public int Position { get; private set; }

        public IReadOnlyList<string> Fields => _fields;

        public FormatException Error(string problem) => new($"{problem} at column {Position + 1} of '{text}'");

        public void Skip()
        {
            while (Position < text.Length && char.IsWhiteSpace(text[Position]))
            {
                Position++;
            }
        }

        private bool Take(char c)
        {
            Skip();
            if (Position < text.Length && text[Position] == c)
            {
                Position++;
                return true;
            }

            return false;
        }

        public Node Sum() => Chain(Product, '+', '-');

        private Node Product() => Chain(Power, '*', '/');

        /// <summary>Left-associative: <c>a - b - c</c> is <c>(a - b) - c</c>.</summary>
        private Node Chain(Func<Node> operand, char first, char second)
        {
            var left = operand();
            while (true)
            {
                if (Take(first))
                {
                    left = new Binary(first, left, operand());
                }
                else if (Take(second))
                {
                    left = new Binary(second, left, operand());
                }
                else
                {
                    return left;
                }
            }
        }

        private Node Power()
        {
            var left = Unary();
            return Take('^') ? new Binary('^', left, Power()) : left;
        }

        private Node Unary() => Take('-') ? new Negate(Unary()) : Take('+') ? Unary() : Atom();

        private Node Atom()
        {
            Skip();
            if (Position >= text.Length)
            {
                throw Error("the expression ends too early: expected a number, a field or '('");
            }

            var c = text[Position];
            if (Take('('))
            {
                var inner = Sum();
                return Take(')') ? inner : throw Error("expected ')'");
            }

            if (char.IsDigit(c) || c == '.')
            {
                var start = Position;
                while (Position < text.Length && (char.IsDigit(text[Position]) || text[Position] == '.' ||
                    ((text[Position] is 'e' or 'E') && Position + 1 < text.Length && (char.IsDigit(text[Position + 1]) || text[Position + 1] is '-' or '+')) ||
                    ((text[Position] is '-' or '+') && text[Position - 1] is 'e' or 'E')))
                {
                    Position++;
                }

                var token = text[start..Position];
                if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    Position = start;
                    throw Error($"'{token}' is not a number");
                }

                return new Number(value);
            }

            if (c is (>= 'a' and <= 'z') or '_')
            {
                var start = Position;
                while (Position < text.Length && text[Position] is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_')
                {
                    Position++;
                }

                if (Position < text.Length && text[Position] == '@')
                {
                    Position++;
                    var suffix = Position;
                    while (Position < text.Length && text[Position] is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_')
                    {
                        Position++;
                    }

                    if (Position == suffix)
                    {
                        throw Error("expected a sibling device's suffix after '@' (e.g. power_kw@meter)");
                    }
                }

                var name = text[start..Position];
                if (!Take('('))
                {
                    if (!_fields.Contains(name))
                    {
                        _fields.Add(name);
                    }

                    return new Field(name);
                }

                if (!Functions.TryGetValue(name, out var arity))
                {
                    Position = start;
                    throw Error($"unknown function '{name}' (known: {string.Join(", ", Functions.Keys)})");
                }

                var args = new List<Node>();
                if (!Take(')'))
                {
                    do
                    {
                        args.Add(Sum());
                    }
                    while (Take(','));

                    if (!Take(')'))
                    {
                        throw Error("expected ',' or ')'");
                    }
                }

                return args.Count == arity ? new Call(name, args) : throw Error($"{name} takes {arity} argument(s), not {args.Count}");
            }

            throw Error($"unexpected '{c}' (field names are lowercase snake_case)");
        }
    }
}
