"""Tail probabilities and quantiles of the normal, Student t and F distributions, for the
model summary (no scipy in the driver: the t and F tails are the regularized incomplete
beta function, by its continued fraction, Numerical Recipes 6.4)."""
import math

EPS = 1e-16


def normal_sf(z):
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def t_sf(t, df):
    """P(T > t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * betainc(0.5 * df, 0.5, df / (df + t * t), t * t / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def f_sf(f, df1, df2):
    """P(F > f) for the F distribution with ``(df1, df2)`` degrees of freedom."""
    if f <= 0:
        return 1.0
    return betainc(0.5 * df2, 0.5 * df1, df2 / (df2 + df1 * f), df1 * f / (df2 + df1 * f))


def upper_quantile(sf, p):
    """The ``q > 0`` with ``sf(q) = p`` (0 < p < 1/2) for a decreasing ``sf``: by bisection
    to the last bit."""
    low, high = 0.0, 1.0
    while sf(high) > p:
        low, high = high, 2.0 * high
    while True:
        mid = 0.5 * (low + high)
        if mid in (low, high):
            return mid
        low, high = (mid, high) if sf(mid) > p else (low, mid)


def betainc(a, b, x, y):
    """The regularized incomplete beta function ``I_x(a, b)``, for a, b > 0, 0 <= x <= 1,
    given ``y = 1 - x`` too (computed without cancellation by the caller)."""
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log(y))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, y) / b


def _beta_fraction(a, b, x):
    """The continued fraction of ``I_x(a, b)`` (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < EPS:
            break
    return h
