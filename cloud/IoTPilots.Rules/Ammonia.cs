namespace IoTPilots.Rules;

/// <summary>
/// The toxic, un-ionised share of total ammonia nitrogen (TAN) [docs/domain.md A12, A21]. Pure.
/// </summary>
public static class Ammonia
{
    /// <summary>
    /// Fraction of TAN present as NH3: 1 / (1 + 10^(pKa − pH)), with Emerson et al. (1975)'s freshwater
    /// pKa = 0.09018 + 2729.92 / T(K) [docs/domain.md A12: 0.0654 at 28 °C and pH 8.0], raised for salt water by the
    /// ionic-strength correction of Bower and Bidwell (1978): pKa += (0.1552 − 0.0003142·T(K))·I with the ionic strength
    /// I = 19.9273·S / (1000 − 1.005109·S) for salinity S in ppt [docs/domain.md A21]. Fresh water (S = 0) is Emerson's own.
    /// </summary>
    public static double UnionizedFraction(double tempC, double ph, double salinityPpt)
    {
        var kelvin = tempC + 273.15;
        var ionicStrength = 19.9273 * salinityPpt / (1000 - (1.005109 * salinityPpt));
        var pKa = 0.09018 + (2729.92 / kelvin) + ((0.1552 - (0.0003142 * kelvin)) * ionicStrength);
        return 1 / (1 + Math.Pow(10, pKa - ph));
    }
}
