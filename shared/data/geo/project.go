package geo

import "math"

// EPSG:3435, NAD83 / Illinois East (ftUS): transverse Mercator on GRS80.
const (
	grs80A    = 6378137.0
	grs80InvF = 298.257222101
	lat0      = 36 + 40.0/60 // 36°40'N
	lon0      = -(88 + 20.0/60)
	k0        = 0.999975
	falseE    = 300000.0 // metres (984250 ftUS)
	falseN    = 0.0
	// FtUS is the US survey foot in metres.
	FtUS = 1200.0 / 3937.0
)

// Krüger's series to sixth order in n (Karney 2011, "Transverse Mercator
// with an accuracy of a few nanometers"): far below a millimetre here.
var (
	tmE     float64    // first eccentricity
	tmA     float64    // rectifying radius times k0
	tmAlpha [6]float64 // forward series coefficients
	tmXi0   float64    // ξ of the origin latitude on the central meridian
)

func init() {
	f := 1 / grs80InvF
	n := f / (2 - f)
	n2, n3 := n*n, n*n*n
	n4, n5, n6 := n2*n2, n2*n3, n3*n3
	tmE = 2 * math.Sqrt(n) / (1 + n)
	tmA = k0 * grs80A / (1 + n) * (1 + n2/4 + n4/64 + n6/256)
	tmAlpha = [6]float64{
		n/2 - 2*n2/3 + 5*n3/16 + 41*n4/180 - 127*n5/288 + 7891*n6/37800,
		13*n2/48 - 3*n3/5 + 557*n4/1440 + 281*n5/630 - 1983433*n6/1935360,
		61*n3/240 - 103*n4/140 + 15061*n5/26880 + 167603*n6/181440,
		49561*n4/161280 - 179*n5/168 + 6601661*n6/7257600,
		34729*n5/80640 - 3418889*n6/1995840,
		212378941 * n6 / 319334400,
	}
	tmXi0, _ = krueger(lat0*math.Pi/180, 0)
}

// krueger returns ξ, η (on the unit rectifying sphere) of a point at
// latitude phi and longitude lam from the central meridian (radians).
func krueger(phi, lam float64) (xi, eta float64) {
	s := math.Sin(phi)
	t := math.Sinh(math.Atanh(s) - tmE*math.Atanh(tmE*s)) // tan of the conformal latitude
	xiP := math.Atan2(t, math.Cos(lam))
	etaP := math.Atanh(math.Sin(lam) / math.Sqrt(1+t*t))
	xi, eta = xiP, etaP
	for j, a := range tmAlpha {
		k := 2 * float64(j+1)
		xi += a * math.Sin(k*xiP) * math.Cosh(k*etaP)
		eta += a * math.Cos(k*xiP) * math.Sinh(k*etaP)
	}
	return xi, eta
}

// ToStatePlane projects a NAD83 latitude/longitude (degrees; WGS84 differs
// by about a metre, below the data's precision) to EPSG:3435 X/Y in US
// survey feet. NaN in gives NaN out.
func ToStatePlane(lat, lon float64) (x, y float64) {
	xi, eta := krueger(lat*math.Pi/180, (lon-lon0)*math.Pi/180)
	x = (falseE + tmA*eta) / FtUS
	y = (falseN + tmA*(xi-tmXi0)) / FtUS
	return x, y
}
